//! A squashfs image: superblock, root listing, and every root entry read or resolved.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let budget = format_compress::InflateBudget::new(1 << 22);
    let mut r = std::io::Cursor::new(data);
    let Ok(mut img) = format_squashfs::Image::open(&mut r, 0, data.len() as u64, &budget) else {
        return;
    };
    let Ok(root) = img.root() else { return };
    for e in root.iter().take(16) {
        let _ = img.lookup(&e.name);
        let _ = img.read_file(e.inode, 1 << 20);
        let _ = img.read_link(e.inode);
    }
});
