//! The compound-file reader on a real MSI (made by wixl, `fixtures/windows`) and on broken
//! copies of it: a FAT loop, a stream longer than the file, a cut file. Each broken one is
//! an error naming the problem, never a hang or a panic.

use std::io::Cursor;

use format_cfb::{CompoundFile, EntryKind, Error};

fn msi() -> Vec<u8> {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/windows/hello.msi");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn u32_at(d: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(d[o..o + 4].try_into().unwrap())
}

#[test]
fn reads_the_streams_of_a_real_msi() {
    let d = msi();
    let mut r = Cursor::new(&d);
    let cf = CompoundFile::open(&mut r, d.len() as u64).unwrap();
    let root = cf.entry(cf.root()).unwrap();
    assert_eq!(root.kind, EntryKind::Root);
    let kids = cf.children(cf.root()).unwrap();
    assert!(kids.len() > 5, "{} children", kids.len());
    let name: Vec<u16> = "\u{5}SummaryInformation".encode_utf16().collect();
    let i = cf.find(cf.root(), &name).unwrap().expect("summary stream");
    let s = cf.read_stream(&mut r, i, 1 << 20).unwrap();
    assert_eq!(&s[..2], &[0xfe, 0xff]);
    // Every stream reads to its size; a cap below it is a limit.
    for i in kids {
        let e = cf.entry(i).unwrap().clone();
        if e.kind == EntryKind::Stream {
            assert_eq!(
                cf.read_stream(&mut r, i, u64::MAX).unwrap().len() as u64,
                e.size
            );
            if e.size > 0 {
                assert!(matches!(
                    cf.read_stream(&mut r, i, e.size - 1),
                    Err(Error::Limit(_))
                ));
            }
        }
    }
}

#[test]
fn a_fat_loop_is_an_error() {
    let mut d = msi();
    let shift = u16::from_le_bytes([d[0x1e], d[0x1f]]) as u32;
    let first_fat = u32_at(&d, 0x4c) as usize;
    let dir = u32_at(&d, 0x30) as usize;
    // The directory's first sector now points at itself.
    let at = ((first_fat + 1) << shift) + 4 * dir;
    d[at..at + 4].copy_from_slice(&(dir as u32).to_le_bytes());
    let e = CompoundFile::open(&mut Cursor::new(&d), d.len() as u64).unwrap_err();
    assert!(e.to_string().contains("loops"), "{e}");
}

#[test]
fn lengths_past_the_file_are_errors() {
    let d = msi();
    let cut = &d[..d.len() / 2];
    let r = CompoundFile::open(&mut Cursor::new(cut), cut.len() as u64);
    // Either the tables are cut (an error now) or a stream is (an error when read).
    if let Ok(cf) = r {
        let mut cur = Cursor::new(cut);
        let failed = cf
            .entries()
            .filter(|(_, e)| e.kind == EntryKind::Stream)
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
            .into_iter()
            .any(|i| cf.read_stream(&mut cur, i, u64::MAX).is_err());
        assert!(failed, "a file cut in half read whole");
    }
    let mut huge = d.clone();
    huge[0x2c..0x30].copy_from_slice(&u32::MAX.to_le_bytes()); // FAT sector count
    let e = CompoundFile::open(&mut Cursor::new(&huge), huge.len() as u64).unwrap_err();
    assert!(e.to_string().contains("more allocation sectors"), "{e}");
    assert!(CompoundFile::open(&mut Cursor::new(&d[..100]), 100).is_err());
}
