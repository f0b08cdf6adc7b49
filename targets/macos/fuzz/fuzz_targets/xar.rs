//! The xar reader alone: header, TOC, checksum, signature, every file's data, the trailer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Read};

fuzz_target!(|data: &[u8]| {
    let limits = format_xar::Limits {
        max_structure_bytes: 1 << 20,
        max_files: 10_000,
    };
    let mut r = Cursor::new(data);
    let size = data.len() as u64;
    let _ = format_xar::stapled_ticket(&mut r, size);
    let Ok(x) = format_xar::open(&mut r, size, &limits) else {
        return;
    };
    if let Ok(Some(ck)) = x.toc_checksum(&mut r) {
        let _ = x.check_signature(&mut r, &ck);
    }
    let budget = format_xar::InflateBudget::new(1 << 22);
    for f in &x.files {
        if let Some(d) = &f.data {
            let _ = x.archived_checksum_ok(&mut r, d, 1 << 22);
            if let Ok(mut rd) = x.open_data(&mut r, d, 1 << 20, &budget) {
                let _ = std::io::copy(&mut (&mut rd).take(1 << 20), &mut std::io::sink());
            }
        }
    }
});
