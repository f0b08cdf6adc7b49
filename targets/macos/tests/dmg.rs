//! Disk images made by `fixtures/macos/make_dmg.py`: one HFS+ volume holding the Developer
//! ID style `Tiny.app` in every chunk compression (zlib, bzip2, LZFSE, LZMA, raw) and partition
//! scheme (Apple partition map, GPT, MBR, none), several apps, an APFS stub, an encrypted
//! stub, a tampered chunk, a truncated image, and an image signed with a throwaway
//! certificate, intact and changed after signing.

mod common;

use platform::{Parse, SignatureState};

use common::{codes, has, inspect};

/// The HFS+ volume of a fixture image, opened through the UDIF reader and the partition map.
fn volume(file: &str) -> format_hfsplus::Volume<format_udif::Disk<std::io::Cursor<Vec<u8>>>> {
    use format_hfsplus::{InflateBudget, Limits, Volume};
    use format_udif::{Disk, Image, partition};
    let data = std::fs::read(common::fixtures().join(file)).unwrap();
    let image = Image::open(&mut std::io::Cursor::new(&data[..]), data.len() as u64).unwrap();
    let budget = InflateBudget::new(64 << 20);
    let mut disk = Disk::new(std::io::Cursor::new(data), &image, &budget);
    let size = disk.size();
    let (_, parts) = partition::read_map(&mut disk, size).unwrap();
    let at = parts.iter().find(|p| p.fs.name() == "hfs+").unwrap().offset;
    Volume::open(disk, at, Limits::default(), &budget).unwrap()
}

#[test]
fn every_compression_and_partition_scheme_reads_the_app() {
    for (file, format, scheme) in [
        ("devid-zlib-apm.dmg", "UDZO", "apm"),
        ("devid-bzip2-gpt.dmg", "UDBZ", "gpt"),
        ("devid-lzma-bare.dmg", "ULMO", "none"),
        ("devid-lzfse-gpt.dmg", "ULFO", "gpt"),
        ("devid-raw-mbr.dmg", "UDRO", "mbr"),
        ("devid-zlib-rsrc.dmg", "UDZO", "apm"),
    ] {
        let i = inspect(file);
        assert_eq!(i.kind.as_str(), "dmg", "{file}");
        assert_eq!(i.parse, Parse::Ok, "{file}: {:?}", i.findings);
        assert_eq!(i.identity.as_deref(), Some("com.dist.tiny"), "{file}");
        assert_eq!(i.version.as_deref(), Some("1.2.0"), "{file}");
        assert_eq!(i.build.as_deref(), Some("42"), "{file}");
        assert_eq!(i.min_os.as_deref(), Some("11.0"), "{file}");
        assert_eq!(
            i.archs.clone().unwrap_or_default(),
            vec!["x86_64".to_string(), "arm64".to_string()],
            "{file}"
        );
        // The app's signature verifies against the throwaway root: untrusted.
        assert_eq!(i.signature.state, SignatureState::Untrusted, "{file}");
        assert_eq!(i.signature.digest_ok, Some(true), "{file}");
        let d = &i.details["dmg"];
        assert_eq!(d["format"], format, "{file}");
        assert_eq!(d["partition_scheme"], scheme, "{file}");
        let map = if file.contains("rsrc") {
            "resource-fork"
        } else {
            "xml"
        };
        assert_eq!(d["block_map"], map, "{file}");
        assert_eq!(d["file_system"]["type"], "hfs+", "{file}");
        assert_eq!(d["file_system"]["volume_name"], "Tiny", "{file}");
        assert_eq!(d["checksums"]["data_fork"], "ok", "{file}");
        assert_eq!(d["checksums"]["master"], "ok", "{file}");
        // Only the chunks holding the volume's structures and the app's files are read.
        let read = d["chunks"]["read"].as_u64().unwrap();
        let total = d["chunks"]["total"].as_u64().unwrap();
        assert!(read > 0 && read < total, "{file}: {read} of {total} chunks");
        assert!(has(&i, "macos.dmg.unsigned"), "{file}: {:?}", codes(&i));
        assert!(has(&i, "macos.dmg.app_not_notarizable"), "{file}");
        assert_eq!(i.details["app"], "Tiny.app", "{file}");
    }
}

#[test]
fn several_apps_are_listed_and_the_one_named_as_the_volume_is_the_identity() {
    let i = inspect("two-apps.dmg");
    assert_eq!(i.parse, Parse::Ok);
    assert_eq!(i.details["app"], "Extras/Unsigned.app");
    assert_eq!(i.signature.state, SignatureState::Unsigned);
    let apps = i.details["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2);
    assert_eq!(apps[0]["app"], "Extras/Unsigned.app");
    assert_eq!(apps[0]["is_identity"], true);
    assert_eq!(apps[0]["why"], "named as the volume");
    assert_eq!(apps[1]["app"], "Tiny.app");
    assert_eq!(apps[1]["signature"], "untrusted");
    assert!(has(&i, "macos.dmg.several_apps"));
}

#[test]
fn an_image_without_an_app_is_read_through_its_package() {
    let i = inspect("pkg-only.dmg");
    assert_eq!(i.parse, Parse::Ok, "{:?}", codes(&i));
    assert_eq!(i.identity.as_deref(), Some("com.dist.tiny.pkg"));
    assert_eq!(i.details["pkg"], "Install Tiny.pkg");
    assert_eq!(i.details["pkg_type"], "component");
    assert!(has(&i, "macos.pkg.unsigned"), "{:?}", codes(&i));
}

#[test]
fn the_image_signature_is_verified_and_a_change_after_signing_is_invalid() {
    let i = inspect("signed-image.dmg");
    assert_eq!(i.parse, Parse::Ok);
    let s = &i.details["dmg"]["code_signature"];
    assert_eq!(s["state"], "untrusted", "{s}");
    assert_eq!(s["signing"], "developer-id");
    assert_eq!(s["team_id"], "DISTTEST01");
    assert!(
        i.signature
            .schemes
            .contains(&"apple-codesign-dmg".to_string())
    );
    assert!(has(&i, "macos.dmg.not_stapled"), "{:?}", codes(&i));
    assert!(!has(&i, "macos.dmg.unsigned"));

    let st = inspect("signed-image-stapled.dmg");
    let s = &st.details["dmg"]["code_signature"];
    assert_eq!(s["state"], "untrusted", "{s}");
    assert_eq!(s["ticket"]["bytes"], 64, "{s}");
    assert!(!has(&st, "macos.dmg.not_stapled"), "{:?}", codes(&st));

    let c = inspect("signed-image-changed.dmg");
    assert_eq!(c.signature.state, SignatureState::Invalid);
    assert_eq!(c.details["dmg"]["code_signature"]["state"], "invalid");
    assert!(has(&c, "macos.dmg.signature_invalid"), "{:?}", codes(&c));
}

#[test]
fn damaged_encrypted_and_unreadable_images() {
    let t = inspect("tampered-chunk.dmg");
    assert_eq!(t.parse, Parse::Reject);
    assert!(has(&t, "macos.dmg.checksum_mismatch"), "{:?}", codes(&t));
    assert_ne!(t.signature.state, SignatureState::Signed);

    let t = inspect("truncated.dmg");
    assert_eq!(t.kind.as_str(), "dmg");
    assert_eq!(t.parse, Parse::Reject);
    assert!(has(&t, "macos.dmg.not_udif"), "{:?}", codes(&t));

    let e = inspect("encrypted-stub.dmg");
    assert_eq!(e.parse, Parse::Reject);
    assert!(has(&e, "macos.dmg.encrypted"), "{:?}", codes(&e));
    assert_eq!(e.signature.state, SignatureState::Unknown);

    let a = inspect("apfs-stub.dmg");
    assert_eq!(a.identity, None);
    assert_eq!(a.details["dmg"]["file_system"]["type"], "apfs");
    assert_eq!(a.details["dmg"]["file_system"]["read"], false);
    assert!(has(&a, "macos.dmg.file_system_not_read"), "{:?}", codes(&a));
}

#[test]
fn a_file_compressed_by_the_file_system_reads_through_decmpfs() {
    let mut v = volume("devid-zlib-apm.dmg");
    let list = v.list().unwrap();
    let readme = list
        .iter()
        .find(|e| e.path == ".background/README.txt")
        .unwrap();
    assert!(readme.compressed);
    assert_eq!(readme.data.logical_size, 0);
    let text = v.read(readme, 1 << 20).unwrap();
    assert_eq!(text, b"Drag Tiny to Applications.\n".repeat(40));
    let link = list.iter().find(|e| e.path == "Applications").unwrap();
    assert_eq!(v.read(link, 1024).unwrap(), b"/Applications");
}

#[test]
fn hard_links_read_as_the_file_they_name_and_the_private_folder_is_hidden() {
    let mut v = volume("two-apps.dmg");
    let list = v.list().unwrap();
    assert!(list.iter().all(|e| !e.path.contains("Private Data")));
    let want = b"Two apps, one file under two names.\n";
    for p in ["Notes.txt", "Extras/Notes.txt"] {
        let e = list.iter().find(|e| e.path == p).unwrap();
        assert!(e.hard_link.is_some(), "{p}");
        assert_eq!(e.size, want.len() as u64, "{p}");
        assert_eq!(v.read(e, 1024).unwrap(), want, "{p}");
    }
}

#[test]
fn an_hfs_plus_volume_inside_an_hfs_wrapper_is_found() {
    use format_hfsplus::{InflateBudget, Limits, Volume};
    use std::io::{Read, Seek, SeekFrom};
    let mut bare = volume("devid-lzma-bare.dmg");
    let disk = bare.device();
    let mut volume = Vec::new();
    disk.seek(SeekFrom::Start(0)).unwrap();
    disk.read_to_end(&mut volume).unwrap();
    let budget = InflateBudget::new(64 << 20);
    // A classic HFS master directory block whose embedded volume starts at allocation block
    // 1 (4096-byte blocks) after 8 sectors: 8192 bytes in.
    let mut wrapped = vec![0u8; 8192];
    wrapped[1024..1026].copy_from_slice(b"BD");
    wrapped[1024 + 0x14..1024 + 0x18].copy_from_slice(&4096u32.to_be_bytes());
    wrapped[1024 + 0x1c..1024 + 0x1e].copy_from_slice(&8u16.to_be_bytes());
    wrapped[1024 + 0x7c..1024 + 0x7e].copy_from_slice(b"H+");
    wrapped[1024 + 0x7e..1024 + 0x80].copy_from_slice(&1u16.to_be_bytes());
    wrapped.extend(volume);
    let mut v = Volume::open(std::io::Cursor::new(wrapped), 0, Limits::default(), &budget).unwrap();
    assert!(v.header.wrapped);
    assert_eq!(v.header.offset, 8192);
    let list = v.list().unwrap();
    assert!(
        list.iter()
            .any(|e| e.path == "Tiny.app/Contents/Info.plist")
    );
}
