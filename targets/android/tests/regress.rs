//! Inputs the fuzzers found, kept so the bugs stay fixed.

use std::time::{Duration, Instant};

fn regress(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/regress")
            .join(name),
    )
    .expect("regression input")
}

/// cargo fuzz arsc: a sparse type chunk declaring 2^32-1 entries made every lookup walk
/// four billion slots (timeout). The count is now bounded by the chunk's size.
#[test]
fn arsc_sparse_entry_count_is_bounded() {
    let data = regress("arsc-sparse-count-timeout.bin");
    let t = Instant::now();
    if let Ok(table) = target_android::arsc::Table::parse(&data) {
        for id in [0x7f01_0000u32, 0x7f02_0000, 0x7f03_0001, 0x7f0b_0000] {
            let _ = table.resolve_string(id);
            let _ = table.resolve_files(id);
        }
    }
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
}
