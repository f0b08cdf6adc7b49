//! Detection from the first bytes and, for zips, the index (never the extension alone): a PE
//! image (`MZ`, then `PE\0\0` where the DOS header points), a compound file whose root
//! storage carries the MSI class id, and a zip holding `AppxManifest.xml` or
//! `AppxMetadata/AppxBundleManifest.xml`, or a zipped app with a Windows executable.

use platform::{Detection, Probe};

/// The root storage class ids of MSI packages (database, patch, transform).
pub const MSI_CLSIDS: [[u8; 16]; 3] = [
    // {000C1084-0000-0000-C000-000000000046}: installer package
    [
        0x84, 0x10, 0x0c, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46,
    ],
    // {000C1086-...}: patch
    [
        0x86, 0x10, 0x0c, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46,
    ],
    // {000C1082-...}: transform
    [
        0x82, 0x10, 0x0c, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46,
    ],
];

/// What kind of PE image the head of a file is, from its headers alone.
fn pe_kind(probe: &Probe) -> Option<&'static str> {
    let h = crate::pe::Headers::parse_head(&probe.head).ok()?;
    Some(h.kind())
}

/// Whether the head of a compound file names an MSI root storage. The root entry is the
/// first directory entry; its sector is read only when the probe holds it.
fn cfb_is_msi(head: &[u8]) -> Option<bool> {
    if !format_cfb::is_cfb(head) || head.len() < 512 {
        return None;
    }
    let shift = u16::from_le_bytes([head[0x1e], head[0x1f]]);
    if shift != 9 && shift != 12 {
        return Some(false);
    }
    let first_dir = u32::from_le_bytes(head[0x30..0x34].try_into().ok()?);
    let off = usize::try_from((u64::from(first_dir) + 1) << shift).ok()?;
    let root = head.get(off..off.checked_add(128)?)?;
    Some(MSI_CLSIDS.iter().any(|c| root[80..96] == c[..]))
}

/// The Windows claim on a probed file.
pub fn detect_probe(probe: &Probe) -> Option<Detection> {
    if let Some(kind) = pe_kind(probe) {
        return Some(Detection::new(kind, 100));
    }
    match cfb_is_msi(&probe.head) {
        Some(true) => return Some(Detection::new("msi", 100)),
        // A compound file without the MSI class id (a Word document, say) is not ours,
        // unless it is named like an MSI: then inspection names what is missing.
        Some(false) if probe.extension().as_deref() == Some("msi") => {
            return Some(Detection::new("msi", 40));
        }
        _ => {}
    }
    if format_cfb::is_cfb(&probe.head) && probe.extension().as_deref() == Some("msi") {
        return Some(Detection::new("msi", 40));
    }
    let entries = probe.zip_entries.as_ref()?;
    let ext = probe.extension();
    if probe.has_entry("AppxMetadata/AppxBundleManifest.xml") {
        let kind = if ext.as_deref().is_some_and(|e| e.contains("appx")) {
            "appxbundle"
        } else {
            "msixbundle"
        };
        return Some(Detection::new(kind, 100));
    }
    if probe.has_entry("AppxManifest.xml") {
        // MSIX and APPX share one format; the name tells which the publisher built.
        let kind = if ext.as_deref().is_some_and(|e| e.contains("appx")) {
            "appx"
        } else {
            "msix"
        };
        return Some(Detection::new(kind, 100));
    }
    // A zipped app: at least one .exe, no more than a few folders deep.
    let has_exe = entries
        .iter()
        .any(|n| n.to_ascii_lowercase().ends_with(".exe") && n.matches('/').count() <= 2);
    has_exe.then(|| Detection::new("zip", 60))
}
