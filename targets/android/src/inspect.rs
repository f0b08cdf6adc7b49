//! `inspect` for APKs and App Bundles: index, manifest, resources, signatures, findings.

use std::collections::BTreeSet;

use platform::{
    Finding, InflateBudget, InspectContext, InspectError, Inspected, Inspection, Kind, Limits,
    PlatformId, ReadSeek, Signature, SignatureState, Signer,
};
use serde_json::{Value as Json, json};

use crate::axml::{Element, Value};
use crate::sigblock::{self, BlockSigner};
use crate::zipr::{self, ZipIndex};
use crate::{Error, arsc, axml, jar, pb};
use format_pki::Certificate;

// Framework attribute ids (android.R.attr), which survive attribute-name obfuscation.
const ATTR_LABEL: u32 = 0x0101_0001;
const ATTR_ICON: u32 = 0x0101_0002;
const ATTR_NAME: u32 = 0x0101_0003;
const ATTR_DEBUGGABLE: u32 = 0x0101_000f;
const ATTR_MIN_SDK: u32 = 0x0101_020c;
const ATTR_VERSION_CODE: u32 = 0x0101_021b;
const ATTR_VERSION_NAME: u32 = 0x0101_021c;
const ATTR_TARGET_SDK: u32 = 0x0101_0270;
const ATTR_TEST_ONLY: u32 = 0x0101_0272;
const ATTR_VERSION_CODE_MAJOR: u32 = 0x0101_0576;

const MAX_ELEMENTS: usize = 100_000;
const MAX_ICON_BYTES: u64 = 4 * 1024 * 1024;

pub fn inspect(
    input: &mut dyn ReadSeek,
    kind: &Kind,
    ctx: &InspectContext,
) -> Result<Inspected, InspectError> {
    let platform = PlatformId::try_from("android").expect("literal platform id is valid");
    let mut ins = Inspection::new(&ctx.file_name, ctx.size, platform, kind.clone());
    let mut icon = None;
    match run(input, kind, ctx, &mut ins, &mut icon) {
        Ok(()) => {}
        Err(Error::Io(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
            return Err(InspectError::Io {
                file: ctx.file_name.clone(),
                source: e,
            });
        }
        Err(e) => {
            let code = match &e {
                Error::Io(_) => "android.zip.truncated",
                Error::Zip(_) => "android.zip.malformed",
                Error::Limit(_) => "android.zip.limit",
                Error::Axml(_) | Error::Protobuf(_) => "android.manifest.malformed",
                Error::Arsc(_) => "android.resources.malformed",
                Error::Der(_) | Error::Signature(_) => "android.signature.malformed",
            };
            ins.reject(code, e.to_string());
        }
    }
    Ok(Inspected {
        inspection: ins,
        icon_png: icon,
    })
}

fn run(
    r: &mut dyn ReadSeek,
    kind: &Kind,
    ctx: &InspectContext,
    ins: &mut Inspection,
    icon: &mut Option<Vec<u8>>,
) -> Result<(), Error> {
    let limits = &ctx.limits;
    let budget = &ctx.budget;
    let eocd = zipr::find_eocd(r, ctx.size)?;
    let block = if kind.as_str() == "apk" {
        sigblock::find(r, eocd.cd_offset, limits.max_structure_bytes)
    } else {
        Ok(None)
    };
    let index = match zipr::read_index(r, ctx.size, limits) {
        Ok(i) => i,
        Err(e) => {
            // Still tell what signature the broken file carries, unverified.
            if let Ok(Some(b)) = &block {
                describe_unverified(b, ins);
            }
            return Err(e);
        }
    };
    match kind.as_str() {
        "aab" => inspect_aab(r, &index, limits, budget, ins),
        "apks" | "xapk" => inspect_split_set(r, &index, kind, ctx, ins, icon),
        _ => inspect_apk(r, &index, block, limits, budget, ins, icon),
    }
}

/// The base APK of a split set: bundletool's `splits/base-master.apk` (or a standalone APK),
/// an XAPK's `base.apk` or `<package>.apk`, else the largest top-level APK.
fn base_apk<'a>(index: &'a ZipIndex, kind: &Kind) -> Option<&'a zipr::Entry> {
    let apks: Vec<&zipr::Entry> = index
        .entries
        .iter()
        .filter(|e| e.name.ends_with(".apk") && !e.is_dir())
        .collect();
    if kind.as_str() == "apks" {
        if let Some(e) = apks.iter().find(|e| e.name == "splits/base-master.apk") {
            return Some(e);
        }
        return apks
            .iter()
            .filter(|e| e.name.starts_with("standalones/"))
            .max_by_key(|e| e.size)
            .copied();
    }
    apks.iter()
        .find(|e| e.name == "base.apk")
        .or_else(|| {
            apks.iter()
                .filter(|e| !e.name.contains('/') && !e.name.starts_with("config."))
                .max_by_key(|e| e.size)
        })
        .copied()
}

/// A split-APK set (`.apks` from bundletool, `.xapk`): the base APK is inspected in place
/// (a stored member is read through a window, never copied out), the splits are listed.
fn inspect_split_set(
    r: &mut dyn ReadSeek,
    index: &ZipIndex,
    kind: &Kind,
    ctx: &InspectContext,
    ins: &mut Inspection,
    icon: &mut Option<Vec<u8>>,
) -> Result<(), Error> {
    let limits = &ctx.limits;
    let base = base_apk(index, kind)
        .ok_or_else(|| Error::Zip("no base APK in the split set".into()))?
        .clone();
    let splits: Vec<&str> = index
        .names()
        .filter(|n| n.ends_with(".apk") && *n != base.name)
        .collect();
    ins.details.insert("base_apk".into(), json!(base.name));
    ins.details.insert("splits".into(), json!(splits));
    let inner_ctx = InspectContext {
        size: base.size,
        ..ctx.clone()
    };
    let apk: Kind = "apk".parse().expect("literal kind is valid");
    if base.method == 0 {
        let start = zipr::data_offset(r, &base, index.eocd.cd_offset)?;
        let mut w = zipr::Window::new(r, start, base.compressed_size);
        run(&mut w, &apk, &inner_ctx, ins, icon)?;
    } else {
        let data = zipr::read_entry(
            r,
            &base,
            index.eocd.cd_offset,
            limits.max_member_bytes,
            &ctx.budget,
        )?;
        run(&mut std::io::Cursor::new(data), &apk, &inner_ctx, ins, icon)?;
    }
    ins.findings.push(Finding::info(
        "android.bundle.split_set",
        format!(
            "{}: a split-APK set ({} splits besides {}); it installs with bundletool install-apks or adb install-multiple, not from a page",
            ins.file,
            splits.len(),
            base.name
        ),
    ));
    Ok(())
}

fn signer_json(c: &Certificate) -> Signer {
    Signer {
        subject: c.subject.clone(),
        sha256: c.sha256.clone(),
    }
}

fn scheme_name(id: u32) -> &'static str {
    match id {
        sigblock::V2_ID => "v2",
        sigblock::V3_ID => "v3",
        _ => "v3.1",
    }
}

fn describe_unverified(b: &sigblock::SigningBlock, ins: &mut Inspection) {
    let mut sig = Signature::unknown();
    for (id, value) in &b.pairs {
        sig.schemes.push(scheme_name(*id).into());
        if let Ok(signers) = sigblock::parse_signers(value, *id != sigblock::V2_ID) {
            for s in signers {
                if let Some(c) = s.certificates.first()
                    && !sig.signers.iter().any(|x| x.sha256 == c.sha256)
                {
                    sig.signers.push(signer_json(c));
                }
            }
        }
    }
    ins.signature = sig;
}

/// What the manifest says, whichever encoding it came in.
#[derive(Debug, Default)]
struct ManifestInfo {
    package: Option<String>,
    version_code: Option<String>,
    version_name: Option<Value>,
    min_sdk: Option<Value>,
    target_sdk: Option<Value>,
    label: Option<Value>,
    icon: Option<Value>,
    debuggable: bool,
    test_only: bool,
    permissions: Vec<String>,
    features: Vec<String>,
}

fn manifest_info(els: &[Element]) -> ManifestInfo {
    let mut m = ManifestInfo::default();
    for e in els {
        match (e.depth, e.name.as_str()) {
            (0, "manifest") => {
                m.package = e.attr("package", None).and_then(Value::as_string);
                let code = e.attr("versionCode", Some(ATTR_VERSION_CODE));
                let major = e.attr("versionCodeMajor", Some(ATTR_VERSION_CODE_MAJOR));
                m.version_code = match (code, major) {
                    (Some(Value::Int(c)), Some(Value::Int(mj))) if *mj != 0 => {
                        Some((((*mj as u64) << 32) | (*c as u32 as u64)).to_string())
                    }
                    (Some(Value::Int(c)), _) => Some((*c as u32).to_string()),
                    (Some(v), _) => v.as_string(),
                    _ => None,
                };
                m.version_name = e.attr("versionName", Some(ATTR_VERSION_NAME)).cloned();
            }
            (1, "uses-sdk") => {
                m.min_sdk = e.attr("minSdkVersion", Some(ATTR_MIN_SDK)).cloned();
                m.target_sdk = e.attr("targetSdkVersion", Some(ATTR_TARGET_SDK)).cloned();
            }
            (1, "application") => {
                m.label = e.attr("label", Some(ATTR_LABEL)).cloned();
                m.icon = e.attr("icon", Some(ATTR_ICON)).cloned();
                m.debuggable =
                    e.attr("debuggable", Some(ATTR_DEBUGGABLE)) == Some(&Value::Bool(true));
                m.test_only = e.attr("testOnly", Some(ATTR_TEST_ONLY)) == Some(&Value::Bool(true));
            }
            (1, "uses-permission" | "uses-permission-sdk-23" | "uses-permission-sdk-m") => {
                if let Some(n) = e.attr("name", Some(ATTR_NAME)).and_then(Value::as_string) {
                    m.permissions.push(n);
                }
            }
            (1, "uses-feature") => {
                if let Some(n) = e.attr("name", Some(ATTR_NAME)).and_then(Value::as_string) {
                    m.features.push(n);
                }
            }
            _ => {}
        }
    }
    m
}

fn sdk_number(v: &Option<Value>) -> Option<i64> {
    match v {
        Some(Value::Int(i)) => Some(*i),
        Some(Value::Str(s)) => s.parse().ok(),
        _ => None,
    }
}

/// Fills identity, versions, SDKs, label and the common details.
fn apply_manifest(
    m: &ManifestInfo,
    ins: &mut Inspection,
    resolve: &dyn Fn(u32) -> Option<String>,
) -> Result<(), Error> {
    let Some(package) = m.package.clone().filter(|p| !p.is_empty()) else {
        return Err(Error::Axml("the manifest has no package attribute".into()));
    };
    ins.identity = Some(package);
    ins.build = m.version_code.clone();
    let text = |v: &Option<Value>| match v {
        Some(Value::Ref(id)) => resolve(*id),
        Some(v) => v.as_string(),
        None => None,
    };
    ins.version = text(&m.version_name);
    // Android's default when uses-sdk names no minimum.
    ins.min_os = Some(text(&m.min_sdk).unwrap_or_else(|| "1".into()));
    ins.target_sdk = text(&m.target_sdk);
    ins.display_name = text(&m.label);
    let mut family = BTreeSet::new();
    for f in &m.features {
        match f.as_str() {
            "android.software.leanback" => family.insert("tv"),
            "android.hardware.type.watch" => family.insert("watch"),
            "android.hardware.type.automotive" => family.insert("automotive"),
            _ => false,
        };
    }
    if !family.is_empty() {
        ins.device_family = Some(family.into_iter().map(str::to_owned).collect());
    }
    ins.details
        .insert("permissions".into(), json!(m.permissions));
    ins.details.insert("features".into(), json!(m.features));
    ins.details.insert("debuggable".into(), json!(m.debuggable));
    ins.details.insert("test_only".into(), json!(m.test_only));
    if m.debuggable {
        ins.findings.push(Finding::warning(
            "android.manifest.debuggable",
            format!(
                "{}: android:debuggable is true: anyone with the device can attach a debugger and read the app's data; build a release variant",
                ins.file
            ),
        ));
    }
    if m.test_only {
        ins.findings.push(Finding::warning(
            "android.manifest.test_only",
            format!(
                "{}: android:testOnly is true: the package installer refuses it, so a tap on the download cannot install it (only adb install -t can)",
                ins.file
            ),
        ));
    }
    Ok(())
}

/// ABIs from `lib/<abi>/` (or `<module>/lib/<abi>/` in a bundle).
fn archs(index: &ZipIndex, bundle: bool) -> Option<Vec<String>> {
    let mut set = BTreeSet::new();
    for n in index.names() {
        let rest = if bundle {
            n.split_once('/').map(|(_, r)| r)
        } else {
            Some(n)
        };
        if let Some(abi) = rest
            .and_then(|r| r.strip_prefix("lib/"))
            .and_then(|r| r.split_once('/'))
            .map(|(abi, _)| abi)
            .filter(|abi| !abi.is_empty())
        {
            set.insert(abi.to_owned());
        }
    }
    (!set.is_empty()).then(|| set.into_iter().collect())
}

fn inspect_apk(
    r: &mut dyn ReadSeek,
    index: &ZipIndex,
    block: Result<Option<sigblock::SigningBlock>, Error>,
    limits: &Limits,
    budget: &InflateBudget,
    ins: &mut Inspection,
    icon: &mut Option<Vec<u8>>,
) -> Result<(), Error> {
    let cd = index.eocd.cd_offset;
    let entry = index
        .get("AndroidManifest.xml")
        .ok_or_else(|| Error::Zip("no AndroidManifest.xml".into()))?;
    let data = zipr::read_entry(r, entry, cd, limits.max_member_bytes, budget)?;
    let els = axml::parse(&data, MAX_ELEMENTS)?;
    let m = manifest_info(&els);

    let arsc_bytes = match index.get("resources.arsc") {
        Some(e) => Some(zipr::read_entry(r, e, cd, limits.max_member_bytes, budget)?),
        None => None,
    };
    let table = match arsc_bytes.as_deref().map(arsc::Table::parse) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            ins.findings.push(Finding::warning(
                "android.resources.malformed",
                format!("{}: {e}; the label and icon cannot be resolved", ins.file),
            ));
            None
        }
        None => None,
    };
    let resolve = |id: u32| table.as_ref().and_then(|t| t.resolve_string(id));
    apply_manifest(&m, ins, &resolve)?;
    ins.archs = archs(index, false);

    // Icon: the densest PNG; an adaptive icon (anydpi XML) is noted.
    let icon_files: Vec<(u16, String)> = match (&m.icon, &table) {
        (Some(Value::Ref(id)), Some(t)) => t.resolve_files(*id),
        (Some(Value::Str(s)), _) => vec![(0, s.clone())],
        _ => Vec::new(),
    };
    let adaptive = icon_files.iter().any(|(_, p)| p.ends_with(".xml"));
    let best = icon_files
        .iter()
        .filter(|(d, p)| p.ends_with(".png") && *d < 0xfffe)
        .max_by_key(|(d, _)| *d);
    ins.details.insert("adaptive_icon".into(), json!(adaptive));
    if let Some((_, path)) = best {
        ins.details.insert("icon".into(), json!(path));
        if let Some(e) = index.get(path)
            && let Ok(png) = zipr::read_entry(
                r,
                e,
                cd,
                MAX_ICON_BYTES.min(limits.max_member_bytes),
                budget,
            )
            && png.starts_with(b"\x89PNG\r\n\x1a\n")
        {
            *icon = Some(png);
        }
    }

    apk_signatures(r, index, block, limits, budget, ins)?;
    Ok(())
}

fn push_unique(signers: &mut Vec<Certificate>, c: &Certificate) {
    if !signers.iter().any(|s| s.sha256 == c.sha256) {
        signers.push(c.clone());
    }
}

/// Verification state accumulated across schemes.
#[derive(Default)]
struct SigState {
    schemes: Vec<String>,
    signers: Vec<Certificate>,
    failed: bool,
    unsupported: bool,
    /// Most signers any one scheme has (a v3 rotation adds a signer across schemes, not
    /// within one).
    max_per_scheme: usize,
    /// Each scheme's signers, in scheme order (v1, v2, v3, v3.1).
    by_scheme: Vec<(String, Vec<Certificate>)>,
    /// v3 and v3.1 signers with the SDK range each claims.
    sdk_scoped: Vec<(String, Certificate, u32, u32)>,
    /// The app's minSdkVersion (devices below it never install it).
    min_sdk: u32,
    problems: Vec<String>,
}

impl SigState {
    fn finish(self, ins: &mut Inspection) {
        let state = if self.schemes.is_empty() {
            SignatureState::Unsigned
        } else if self.failed {
            SignatureState::Invalid
        } else if self.unsupported {
            SignatureState::Unknown
        } else {
            SignatureState::Signed
        };
        let digest_ok = match state {
            SignatureState::Signed => Some(true),
            SignatureState::Invalid => Some(false),
            _ => None,
        };
        if state == SignatureState::Invalid {
            let shown: Vec<&str> = self.problems.iter().take(5).map(String::as_str).collect();
            ins.findings.push(Finding::error(
                "android.signature.invalid",
                format!(
                    "{}: the signature does not verify: {}",
                    ins.file,
                    shown.join("; ")
                ),
            ));
        } else if state == SignatureState::Unknown {
            ins.findings.push(Finding::warning(
                "android.signature.unverifiable",
                format!(
                    "{}: a signature uses an algorithm this server cannot check: {}",
                    ins.file,
                    self.problems.join("; ")
                ),
            ));
        }
        // Every distinct signer of every scheme (after a v3 or v3.1 rotation the old key
        // signs v1/v2 and the new one v3: both are reported), each with its schemes and the
        // SDK ranges its v3/v3.1 blocks claim; and, per device SDK range, the signers that
        // Android verifies there (continuity and pin checks use those).
        let mut all: Vec<Certificate> = Vec::new();
        let mut described: Vec<Json> = Vec::new();
        for (scheme, certs) in &self.by_scheme {
            for c in certs {
                if !all.iter().any(|a| a.sha256 == c.sha256) {
                    all.push(c.clone());
                    described.push(json!({
                        "subject": c.subject,
                        "sha256": c.sha256,
                        "schemes": [],
                        "sdk_ranges": [],
                    }));
                }
                let d = described
                    .iter_mut()
                    .find(|d| d["sha256"] == c.sha256.as_str())
                    .expect("described above");
                if let Some(list) = d["schemes"].as_array_mut()
                    && !list.iter().any(|x| x == scheme.as_str())
                {
                    list.push(json!(scheme));
                }
            }
        }
        for (scheme, c, min, max) in &self.sdk_scoped {
            if let Some(d) = described
                .iter_mut()
                .find(|d| d["sha256"] == c.sha256.as_str())
                && let Some(list) = d["sdk_ranges"].as_array_mut()
            {
                list.push(json!({"scheme": scheme, "min_sdk": min, "max_sdk": max}));
            }
        }
        if !described.is_empty() {
            ins.details.insert("signers".into(), Json::Array(described));
            let ranges: Vec<Json> = device_ranges(&self.by_scheme, &self.sdk_scoped, self.min_sdk)
                .into_iter()
                .map(|(min, max, certs)| {
                    json!({
                        "min_sdk": min,
                        "max_sdk": max,
                        "sha256": certs.iter().map(|c| c.sha256.clone()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            ins.details
                .insert("signers_by_sdk".into(), Json::Array(ranges));
        }
        if !self.by_scheme.is_empty() {
            let map: serde_json::Map<String, Json> = self
                .by_scheme
                .iter()
                .map(|(k, certs)| {
                    let list: Vec<Json> = certs
                        .iter()
                        .map(|c| json!({"subject": c.subject, "sha256": c.sha256}))
                        .collect();
                    (k.clone(), Json::Array(list))
                })
                .collect();
            ins.details
                .insert("signers_by_scheme".into(), Json::Object(map));
        }
        let effective = all;
        if self.max_per_scheme > 1 {
            let names: Vec<&str> = effective.iter().map(|c| c.subject.as_str()).collect();
            ins.findings.push(Finding::warning(
                "android.signature.multiple_signers",
                format!(
                    "{}: signed by {} signers ({}); every future update must carry the same set",
                    ins.file,
                    self.max_per_scheme,
                    names.join("; ")
                ),
            ));
        }
        ins.signature = Signature {
            state,
            schemes: self.schemes,
            signers: effective.iter().map(signer_json).collect(),
            digest_ok,
            chain_ok: None,
            timestamp: None,
        };
    }

    fn jar(
        &mut self,
        r: &mut dyn ReadSeek,
        index: &ZipIndex,
        limits: &Limits,
        budget: &InflateBudget,
    ) -> Result<Vec<u32>, Error> {
        match jar::verify(r, index, limits, budget) {
            Ok(res) => {
                self.max_per_scheme = self.max_per_scheme.max(res.signers.len());
                let scheme = self.schemes.last().cloned().unwrap_or_default();
                self.by_scheme.push((scheme, res.signers.clone()));
                for c in &res.signers {
                    push_unique(&mut self.signers, c);
                }
                if !res.ok {
                    self.failed = true;
                } else if res.unsupported {
                    self.unsupported = true;
                }
                if res.signers.is_empty() {
                    self.failed = true;
                    self.problems.push("no JAR signer could be read".into());
                }
                self.problems.extend(res.problems);
                Ok(res.apk_signed_schemes)
            }
            Err(Error::Io(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => Err(Error::Io(e)),
            Err(Error::Limit(l)) => Err(Error::Limit(l)),
            Err(e) => {
                self.failed = true;
                self.problems.push(format!("JAR signature: {e}"));
                Ok(Vec::new())
            }
        }
    }
}

fn apk_signatures(
    r: &mut dyn ReadSeek,
    index: &ZipIndex,
    block: Result<Option<sigblock::SigningBlock>, Error>,
    limits: &Limits,
    budget: &InflateBudget,
    ins: &mut Inspection,
) -> Result<(), Error> {
    let mut st = SigState {
        min_sdk: ins
            .min_os
            .as_deref()
            .and_then(|m| m.parse().ok())
            .unwrap_or(1),
        ..SigState::default()
    };
    let mut declared = Vec::new();
    if jar::present(index) {
        st.schemes.push("v1".into());
        declared = st.jar(r, index, limits, budget)?;
    }
    let block = match block {
        Ok(b) => b,
        Err(Error::Io(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
            return Err(Error::Io(e));
        }
        Err(e) => {
            st.schemes.push("v2".into());
            st.failed = true;
            st.problems.push(e.to_string());
            None
        }
    };
    let mut lineage = Vec::new();
    let mut present_ids = Vec::new();
    if let Some(b) = &block {
        let mut parsed: Vec<(u32, Vec<BlockSigner>)> = Vec::new();
        for (id, value) in &b.pairs {
            st.schemes.push(scheme_name(*id).into());
            present_ids.push(*id);
            match sigblock::parse_signers(value, *id != sigblock::V2_ID) {
                Ok(s) if !s.is_empty() => parsed.push((*id, s)),
                Ok(_) => {
                    st.failed = true;
                    st.problems
                        .push(format!("{}: no signers", scheme_name(*id)));
                }
                Err(e) => {
                    st.failed = true;
                    st.problems.push(format!("{}: {e}", scheme_name(*id)));
                }
            }
        }
        let all: Vec<&BlockSigner> = parsed.iter().flat_map(|(_, s)| s.iter()).collect();
        let (w256, w512) = sigblock::needed_digests(&all);
        let digests = if w256 || w512 {
            sigblock::content_digests(r, b.offset, &index.eocd, w256, w512)?
        } else {
            sigblock::ContentDigests::default()
        };
        for (id, signers) in &parsed {
            st.max_per_scheme = st.max_per_scheme.max(signers.len());
            let certs: Vec<Certificate> = signers
                .iter()
                .filter_map(|s| s.certificates.first().cloned())
                .collect();
            st.by_scheme.push((scheme_name(*id).to_owned(), certs));
            for s in signers {
                if let (Some(c), Some(min), Some(max)) =
                    (s.certificates.first(), s.min_sdk, s.max_sdk)
                {
                    st.sdk_scoped
                        .push((scheme_name(*id).to_owned(), c.clone(), min, max));
                }
                let res = sigblock::verify_signer(s, &digests);
                match res.signature {
                    format_pki::Verdict::Valid => {}
                    format_pki::Verdict::Invalid => st.failed = true,
                    format_pki::Verdict::Unsupported(ref why) => {
                        st.unsupported = true;
                        st.problems.push(format!("{}: {why}", scheme_name(*id)));
                    }
                }
                st.problems.extend(
                    res.problems
                        .iter()
                        .map(|p| format!("{}: {p}", scheme_name(*id))),
                );
                if let Some(c) = s.certificates.first() {
                    push_unique(&mut st.signers, c);
                }
                for n in &s.lineage {
                    lineage.push(json!({
                        "subject": n.certificate.subject,
                        "sha256": n.certificate.sha256,
                        "flags": n.flags,
                        "verified": s.lineage_ok,
                    }));
                }
                if s.lineage_ok == Some(false) {
                    st.failed = true;
                    st.problems.push(format!(
                        "{}: the proof-of-rotation lineage does not verify",
                        scheme_name(*id)
                    ));
                }
            }
        }
        let ids: Vec<Json> = b.ids.iter().map(|i| json!(format!("0x{i:08x}"))).collect();
        ins.details
            .insert("signing_block_ids".into(), Json::Array(ids));
    }
    // A v1 signature that names v2/v3 while the block lacks it: the block was stripped.
    for d in declared {
        let want = match d {
            2 => sigblock::V2_ID,
            3 => sigblock::V3_ID,
            _ => continue,
        };
        if !present_ids.contains(&want) {
            st.failed = true;
            st.problems.push(format!(
                "the v1 signature says the APK was signed with scheme v{d}, but that signature is missing (stripped)"
            ));
        }
    }
    if !lineage.is_empty() {
        ins.details.insert("lineage".into(), Json::Array(lineage));
    }

    let only_v1 = st.schemes == ["v1"];
    let has_v1 = st.schemes.iter().any(|s| s == "v1");
    let unsigned = st.schemes.is_empty();
    st.finish(ins);

    let min = sdk_number(&ins.min_os.clone().map(Value::Str)).unwrap_or(1);
    let target = sdk_number(&ins.target_sdk.clone().map(Value::Str));
    if unsigned {
        ins.findings.push(Finding::error(
            "android.signature.unsigned",
            format!(
                "{}: the APK is not signed; Android refuses to install it",
                ins.file
            ),
        ));
    } else if only_v1 && target.is_some_and(|t| t >= 30) {
        ins.findings.push(Finding::error(
            "android.signature.v1_only",
            format!(
                "{}: only a v1 (JAR) signature while targetSdk is {}: Android 11 and later refuse to install it; sign with v2 or later",
                ins.file,
                target.unwrap_or_default()
            ),
        ));
    } else if only_v1 && min >= 24 {
        ins.findings.push(Finding::warning(
            "android.signature.v1_only",
            format!(
                "{}: only a v1 (JAR) signature while minSdk is {min}: every supported device verifies v2, which is faster and covers the whole file; sign with v2 or later",
                ins.file
            ),
        ));
    } else if !has_v1 && min < 24 {
        ins.findings.push(Finding::warning(
            "android.signature.no_v1_for_old_devices",
            format!(
                "{}: no v1 signature while minSdk is {min}: devices before Android 7.0 (API 24) cannot install it",
                ins.file
            ),
        ));
    }
    Ok(())
}

/// Android's first SDK that verifies scheme v2 (7.0), v3 (9) and v3.1 (13).
const SDK_V2: u32 = 24;
const SDK_V3: u32 = 28;
const SDK_V31: u32 = 33;

/// Which signers a device verifies, per SDK range from the app's minimum up: v1 below 24,
/// v2 (else v1) from 24, from 28 the v3 signer whose range covers the device (v3.1 from 33
/// where its range covers it), falling back to v2/v1 where no v3 signer claims the SDK.
/// Consecutive SDKs with the same signers are merged; ranges nobody verifies are left out.
pub fn device_ranges(
    by_scheme: &[(String, Vec<Certificate>)],
    scoped: &[(String, Certificate, u32, u32)],
    min_sdk: u32,
) -> Vec<(u32, u32, Vec<Certificate>)> {
    let scheme = |name: &str| {
        by_scheme
            .iter()
            .find(|(s, c)| s == name && !c.is_empty())
            .map(|(_, c)| c.clone())
    };
    let v1 = scheme("v1");
    let v2 = scheme("v2");
    let at = |sdk: u32| -> Option<Vec<Certificate>> {
        if sdk >= SDK_V31
            && let Some((_, c, _, _)) = scoped
                .iter()
                .find(|(s, _, lo, hi)| s == "v3.1" && (*lo..=*hi).contains(&sdk))
        {
            return Some(vec![c.clone()]);
        }
        if sdk >= SDK_V3
            && let Some((_, c, _, _)) = scoped
                .iter()
                .find(|(s, _, lo, hi)| s == "v3" && (*lo..=*hi).contains(&sdk))
        {
            return Some(vec![c.clone()]);
        }
        if sdk >= SDK_V2
            && let Some(c) = &v2
        {
            return Some(c.clone());
        }
        v1.clone()
    };
    let start = min_sdk.max(1);
    let mut points: Vec<u32> = vec![start, SDK_V2, SDK_V3, SDK_V31];
    for (_, _, lo, hi) in scoped {
        points.push(*lo);
        points.push(hi.saturating_add(1));
    }
    points.retain(|p| *p >= start);
    points.sort_unstable();
    points.dedup();
    let mut out: Vec<(u32, u32, Vec<Certificate>)> = Vec::new();
    for (i, lo) in points.iter().enumerate() {
        let hi = points.get(i + 1).map(|n| n - 1).unwrap_or(u32::MAX);
        let Some(certs) = at(*lo) else { continue };
        match out.last_mut() {
            Some(last)
                if last.1.checked_add(1) == Some(*lo)
                    && last
                        .2
                        .iter()
                        .map(|c| &c.sha256)
                        .eq(certs.iter().map(|c| &c.sha256)) =>
            {
                last.1 = hi;
            }
            _ => out.push((*lo, hi, certs)),
        }
    }
    out
}

fn inspect_aab(
    r: &mut dyn ReadSeek,
    index: &ZipIndex,
    limits: &Limits,
    budget: &InflateBudget,
    ins: &mut Inspection,
) -> Result<(), Error> {
    let cd = index.eocd.cd_offset;
    let entry = index
        .get("base/manifest/AndroidManifest.xml")
        .ok_or_else(|| Error::Zip("no base/manifest/AndroidManifest.xml".into()))?;
    let data = zipr::read_entry(r, entry, cd, limits.max_member_bytes, budget)?;
    let els = pb::parse_xml(&data, MAX_ELEMENTS)?;
    let m = manifest_info(&els);
    let table = match index.get("base/resources.pb") {
        Some(e) => Some(zipr::read_entry(r, e, cd, limits.max_member_bytes, budget)?),
        None => None,
    };
    let resolve = |id: u32| {
        table
            .as_deref()
            .and_then(|t| pb::resolve_string(t, id).ok().flatten())
    };
    apply_manifest(&m, ins, &resolve)?;
    ins.archs = archs(index, true);

    let modules: Vec<String> = index
        .names()
        .filter_map(|n| n.strip_suffix("/manifest/AndroidManifest.xml"))
        .filter(|m| !m.contains('/'))
        .map(str::to_owned)
        .collect();
    ins.details.insert("modules".into(), json!(modules));
    if let Some(e) = index.get("BundleConfig.pb")
        && let Ok(cfg) = zipr::read_entry(r, e, cd, limits.max_member_bytes, budget)
        && let Ok(Some(v)) = pb::bundletool_version(&cfg)
    {
        ins.details.insert("bundletool_version".into(), json!(v));
    }
    ins.findings.push(Finding::info(
        "android.bundle.artifact_only",
        format!(
            "{}: an Android App Bundle is not installable from a page; Google Play or bundletool builds the APKs a device installs",
            ins.file
        ),
    ));

    let mut st = SigState::default();
    if jar::present(index) {
        st.schemes.push("jar".into());
        st.jar(r, index, limits, budget)?;
    }
    let unsigned = st.schemes.is_empty();
    st.finish(ins);
    if unsigned {
        ins.findings.push(Finding::warning(
            "android.signature.unsigned",
            format!(
                "{}: the bundle is not signed; Google Play requires bundles signed with the upload key",
                ins.file
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(n: u8) -> Certificate {
        Certificate {
            der: vec![n],
            sha256: format!("{n:02x}").repeat(32),
            subject: format!("CN={n}"),
            serial: vec![n],
            ..Certificate::default()
        }
    }

    /// Issue 10, item 5: a v3.1 block for SDK 33+ with a rotated key, a v3 block for 28+
    /// with the previous key, v1/v2 with the first: each device range gets its own signer.
    #[test]
    fn each_sdk_range_verifies_its_own_signer() {
        let (a, b, c) = (cert(1), cert(2), cert(3));
        let by_scheme = vec![
            ("v1".to_owned(), vec![a.clone()]),
            ("v2".to_owned(), vec![a.clone()]),
            ("v3".to_owned(), vec![b.clone()]),
            ("v3.1".to_owned(), vec![c.clone()]),
        ];
        let scoped = vec![
            ("v3".to_owned(), b.clone(), 28, 32),
            ("v3.1".to_owned(), c.clone(), 33, u32::MAX),
        ];
        let got: Vec<(u32, u32, String)> = device_ranges(&by_scheme, &scoped, 21)
            .into_iter()
            .map(|(lo, hi, c)| (lo, hi, c[0].subject.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (21, 27, "CN=1".to_owned()),
                (28, 32, "CN=2".to_owned()),
                (33, u32::MAX, "CN=3".to_owned()),
            ]
        );
        // A v3 signer that claims no range a device has falls back to v2.
        let scoped = vec![("v3".to_owned(), b, 40, 41)];
        let got = device_ranges(&by_scheme[..3], &scoped, 24);
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].0, got[0].1, got[0].2[0].sha256.clone()),
            (24, 39, a.sha256)
        );
    }
}
