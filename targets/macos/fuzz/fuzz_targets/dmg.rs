//! The whole `dmg` inspection through `target_macos::fuzzing`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    target_macos::fuzzing::inspect(data, "dmg");
});
