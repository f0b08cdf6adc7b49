//! A component package's `Payload`: a cpio archive (odc or newc, read by `formats/cpio`),
//! compressed with gzip, xz or bzip2 (`formats/compress`) or wrapped in pbzx chunks, stored
//! in the xar heap (`formats/xar`). Read as a stream, never extracted, within the
//! inspection's byte and decompression budgets, as a [`Tree`] so that the `.app` bundles the
//! PackageInfo lists are read by the same app reader as a zipped app.
//!
//! What it reports, per component package (`details.packages[].apps`): each app's `path`,
//! `identity`, `version`, `build`, `min_os`, `archs`, `signature` (state), `signing`
//! (`developer-id`, `ad-hoc`, ...), `signer`, `hardened_runtime`, `notarization` (the app's
//! own status) and `findings` (the app reader's codes).

use std::io::Read;

use format_compress::{Codec, InflateBudget};
use format_xar::{Data, Xar};
use platform::{Finding, InspectContext, Inspection, ReadSeek, Severity, SignatureState};
use serde_json::{Value as Json, json};

use crate::tree::{CpioEntries, Entries, EntrySource, StreamTree, TarError, Tree};

/// Most apps read from one package (a suite installs a few; each read costs a pass).
pub const MAX_APPS: usize = 8;

/// A Payload's bytes, opened again from the start for every pass.
pub struct PayloadSource<'a> {
    pub x: &'a Xar,
    pub r: &'a mut dyn ReadSeek,
    pub data: Data,
    pub cap: u64,
    pub budget: InflateBudget,
}

impl EntrySource for PayloadSource<'_> {
    fn open(&mut self) -> Result<Box<dyn Entries + '_>, TarError> {
        let mut rd = self
            .x
            .open_data(&mut *self.r, &self.data, self.cap, &self.budget)
            .map_err(|e| match e {
                format_xar::Error::Limit(m) => TarError::Limit(m),
                other => TarError::Malformed(other.to_string()),
            })?;
        let mut head = [0u8; 16];
        let mut n = 0;
        while n < head.len() {
            match rd.read(&mut head[n..]).map_err(TarError::Io)? {
                0 => break,
                k => n += k,
            }
        }
        let head = head[..n].to_vec();
        let whole = std::io::Cursor::new(head.clone()).chain(rd);
        // The xar layer has charged the stored bytes; a decoder charges what it yields.
        let dec: Box<dyn Read + '_> = if head.starts_with(b"pbzx") {
            format_compress::pbzx(whole, &self.budget)
        } else {
            match Codec::sniff(&head) {
                Codec::None => Box::new(whole),
                c => format_compress::decoder(c, whole, &self.budget)
                    .map_err(|e| TarError::Malformed(e.to_string()))?,
            }
        };
        Ok(Box::new(CpioEntries(format_cpio::Reader::new(dec))))
    }
}

/// The app bundle folders (`X.app/`) a PackageInfo's `<bundle path>` names, relative to the
/// payload's root (`./Tiny.app` is `Tiny.app/`).
fn listed_apps(package: &Json) -> Vec<String> {
    package["bundles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["path"].as_str())
        .map(|p| p.trim_start_matches("./").trim_start_matches('/'))
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| p.ends_with(".app") && !p.split('/').any(|c| c == ".."))
        .map(|p| format!("{p}/"))
        .collect()
}

/// What one app inside the payload is, for `details`.
fn summary(app: &str, a: &Inspection) -> Json {
    let code = a.details.get("code_signature");
    json!({
        "path": app.trim_end_matches('/'),
        "identity": a.identity,
        "version": a.version,
        "build": a.build,
        "min_os": a.min_os,
        "archs": a.archs,
        "signature": a.signature.state,
        "signing": code.and_then(|c| c.get("signing")),
        "signer": a.signature.signers.first().map(|s| s.subject.clone()),
        "hardened_runtime": code.and_then(|c| c.get("hardened_runtime")),
        "notarization": a.details.get("notarization").and_then(|n| n.get("status")),
        "findings": a.findings.iter().map(|f| f.code.clone()).collect::<Vec<_>>(),
    })
}

/// Reads the apps of one component package's Payload into `package["apps"]`, adds the
/// package-level findings about them to `i`, and returns the apps' architectures.
pub fn read_apps(
    x: &Xar,
    r: &mut dyn ReadSeek,
    data: &Data,
    dir: &str,
    package: &mut Json,
    ctx: &InspectContext,
    i: &mut Inspection,
) -> Vec<String> {
    let src = PayloadSource {
        x,
        r,
        data: data.clone(),
        cap: ctx.limits.max_streamed_bytes,
        budget: ctx.budget.clone(),
    };
    let mut tree = match StreamTree::list(src, &ctx.limits, &ctx.budget, &crate::tree::app_files) {
        Ok(t) => t,
        Err(TarError::Limit(m)) => {
            crate::reject_at_limit(i, "macos.pkg.limit", format!("{dir}Payload: {m}"));
            return Vec::new();
        }
        Err(TarError::Malformed(m)) => {
            i.findings.push(Finding::error(
                "macos.pkg.payload_malformed",
                format!("{}: {dir}Payload does not read as a cpio archive ({m}): Installer fails on it; build the package again", i.file),
            ));
            return Vec::new();
        }
        Err(TarError::Io(e)) => {
            i.findings.push(Finding::error(
                "macos.pkg.payload_malformed",
                format!("{}: {dir}Payload: reading failed: {e}", i.file),
            ));
            return Vec::new();
        }
    };
    let has_app =
        |tree: &dyn Tree, app: &str| tree.node(&format!("{app}Contents/Info.plist")).is_some();
    let listed = listed_apps(package);
    let mut apps: Vec<String> = listed
        .iter()
        .filter(|a| has_app(&tree, a))
        .cloned()
        .collect();
    for missing in listed.iter().filter(|a| !has_app(&tree, a)) {
        i.findings.push(Finding::warning(
            "macos.pkg.bundle_missing",
            format!(
                "{}: {dir}PackageInfo lists {} but the Payload has no {}Contents/Info.plist",
                i.file,
                missing.trim_end_matches('/'),
                missing
            ),
        ));
    }
    if listed.is_empty() {
        // No <bundle> listed: the outermost apps the payload holds.
        let all = crate::app::apps(&tree);
        let depth = all.first().map(|a| a.matches('/').count());
        apps = all
            .into_iter()
            .filter(|a| Some(a.matches('/').count()) == depth)
            .collect();
    }
    apps.truncate(MAX_APPS);
    let mut archs: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for app in &apps {
        let mut a = Inspection::new(
            &format!("{}: {dir}Payload: {}", i.file, app.trim_end_matches('/')),
            i.size,
            i.platform.clone(),
            i.kind.clone(),
        );
        a.signature = platform::Signature::unsigned();
        crate::app::read(&mut tree, app, ctx, &mut a);
        for arch in a.archs.iter().flatten() {
            if !archs.contains(arch) {
                archs.push(arch.clone());
            }
        }
        let name = app.trim_end_matches('/');
        if a.signature.state == SignatureState::Invalid {
            i.findings.push(Finding::error(
                "macos.pkg.app_signature_invalid",
                format!("{}: {name} inside the package fails its code signature check: once installed, macOS refuses to open it; sign the app again, then build the package", i.file),
            ));
        } else if a
            .details
            .get("notarization")
            .and_then(|n| n.get("status"))
            .and_then(|s| s.as_str())
            == Some(crate::notarization::Status::NotNotarizable.id())
        {
            i.findings.push(Finding::warning(
                "macos.pkg.app_not_notarizable",
                format!("{}: {name} inside the package is not signed with a Developer ID that verifies: Apple does not notarize a package whose code is not, and Gatekeeper blocks the app once installed; sign it with a Developer ID Application certificate and the hardened runtime before building the package", i.file),
            ));
        }
        if let Some(e) = a
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error && f.code.ends_with(".limit"))
        {
            crate::reject_at_limit(i, "macos.pkg.limit", e.message.clone());
        }
        out.push(summary(app, &a));
    }
    if let Some(m) = tree.limit_hit() {
        crate::reject_at_limit(i, "macos.pkg.limit", format!("{dir}Payload: {m}"));
    }
    package["apps"] = json!(out);
    archs
}
