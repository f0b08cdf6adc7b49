//! One parser: an HFS+ volume (header, B-trees, forks, decmpfs) through
//! `target_macos::fuzzing`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    target_macos::fuzzing::hfsplus(data);
});
