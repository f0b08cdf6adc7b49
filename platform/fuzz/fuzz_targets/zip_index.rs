//! The one zip reader (detection and every target's inspection): the index of any bytes, and
//! every member it lists read back under a small cap and budget. Never a panic, never more
//! than the budget inflated.
#![no_main]
use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use format_zip::{self as zipindex, InflateBudget};
use platform::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_entries: 1000,
        max_structure_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut r = Cursor::new(data);
    let Ok(index) = zipindex::read_index(&mut r, data.len() as u64, &limits) else {
        return;
    };
    let budget = InflateBudget::new(1 << 20);
    for e in &index.entries {
        if let Ok(mut s) = zipindex::open_entry(&mut r, e, index.eocd.cd_offset, 1 << 18, &budget) {
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
    }
    assert!(budget.used() <= budget.total());
});
