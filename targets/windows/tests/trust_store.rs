//! The shipped trust store is what `trust/README.md` says it is: every `.cer` file is listed
//! with its SHA-256, every listed file exists, and each parses as a self-issued root.

use std::collections::BTreeMap;

#[test]
fn trust_files_match_the_readme() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("trust");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let mut listed = BTreeMap::new();
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        listed.insert(
            cells[1].trim_matches('`').to_owned(),
            cells[3].trim_matches('`').to_owned(),
        );
    }
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "cer") {
            let der = std::fs::read(&p).unwrap();
            files.insert(
                p.file_name().unwrap().to_string_lossy().into_owned(),
                format_pki::sha256_hex(&der),
            );
            let c = format_pki::Certificate::parse(&der).unwrap();
            assert!(
                c.issued_by_name(&c),
                "{}: not self-issued, so not a root",
                p.display()
            );
        }
    }
    assert_eq!(files, listed, "trust/*.cer and the README table disagree");
    assert_eq!(files.len(), target_windows::trust::SHIPPED.len());
    assert_eq!(target_windows::trust::shipped().len(), files.len());
}
