//! An ELF file: the header, its architecture, and the section table with names.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(h) = format_elf::header(data) else {
        return;
    };
    let _ = h.arch();
    let _ = h.sections_end();
    let mut r = std::io::Cursor::new(data);
    if let Ok(sections) = format_elf::sections(&mut r, &h, data.len() as u64) {
        for s in sections.iter().filter(|s| !s.nobits) {
            // The reader promises every section lies inside the file.
            assert!(s.offset.saturating_add(s.size) <= data.len() as u64, "{s:?}");
        }
    }
});
