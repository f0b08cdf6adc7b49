//! The App Bundle's protobuf manifest (aapt.pb.XmlNode) and resource table lookups.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = target_android::pb::parse_xml(data, 10_000);
    let _ = target_android::pb::resolve_string(data, 0x7f01_0000);
    let _ = target_android::pb::bundletool_version(data);
});
