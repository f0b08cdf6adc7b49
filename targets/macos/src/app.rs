//! A macOS app bundle (`X.app/Contents/...`) read through a [`Tree`], whatever holds it: a
//! zip, a tar stream, later a disk image. Info.plist, the main executable (architectures,
//! minimum OS, code signature), the CodeResources seal and the nested code it lists, an
//! embedded provisioning profile and a stapled notarization ticket.
//!
//! `details` schema (README, "Platform details", macOS): `app`, `bundle_name`,
//! `version_source`, `min_os_source`, `universal`, `slices`, `code_signature`, `seal`,
//! `profile`, `notarization`, `team_id`.

use std::collections::BTreeSet;

use format_apple::plistx::{self, get_str};
use format_apple::profile::{self, Envelope, ProfileFacts};
use format_apple::seal;
use platform::{Finding, InspectContext, Inspection, SignatureState};
use plist::{Dictionary, Value};
use serde_json::{Map, Value as Json, json};

use crate::code::{self, Signing};
use crate::notarization::{self, Ticket};
use crate::tree::{BundleDir, NodeKind, Tree};

/// Largest stapled ticket read (real ones are a few KiB).
const MAX_TICKET: u64 = 1 << 20;

/// Whether `path` is `X.app/Contents/Info.plist`, at the top or one folder down.
pub fn is_app_info_plist(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let n = parts.len();
    (n == 3 || n == 4)
        && parts[0] != "__MACOSX"
        && parts[n - 3].len() > 4
        && parts[n - 3].ends_with(".app")
        && parts[n - 2] == "Contents"
        && parts[n - 1] == "Info.plist"
}

/// The app bundles of a tree (their folder with a trailing `/`), shallowest first.
pub fn apps(tree: &dyn Tree) -> Vec<String> {
    let mut v: Vec<String> = tree
        .nodes()
        .iter()
        .filter(|n| n.kind == NodeKind::File && is_app_info_plist(&n.path))
        .map(|n| n.path.trim_end_matches("Contents/Info.plist").to_owned())
        .collect();
    v.sort_by_key(|p| (p.matches('/').count(), p.clone()));
    v
}

fn parse_plist(data: &[u8]) -> Result<Dictionary, String> {
    Value::from_reader(std::io::Cursor::new(data))
        .map_err(|e| e.to_string())?
        .into_dictionary()
        .ok_or_else(|| "not a dictionary".to_owned())
}

/// What verifying the seal and the nested code found.
#[derive(Default)]
struct SealCheck {
    problems: Vec<String>,
    files_checked: usize,
    nested: Vec<Json>,
}

/// Reads the app at `app` (`X.app/`) into `i`.
pub fn read(tree: &mut dyn Tree, app: &str, ctx: &InspectContext, i: &mut Inspection) {
    let limits = &ctx.limits;
    let contents = format!("{app}Contents/");
    let mut details = Map::new();
    details.insert("app".into(), json!(app.trim_end_matches('/')));
    let info_name = format!("{contents}Info.plist");
    let info_bytes = match tree.read(&info_name, limits.max_member_bytes) {
        Ok(Some(d)) => d,
        Ok(None) => {
            i.reject("macos.app.no_info_plist", format!("{info_name} is missing"));
            return;
        }
        Err(e) => {
            i.reject("macos.app.malformed", e);
            return;
        }
    };
    let info = match parse_plist(&info_bytes) {
        Ok(d) => d,
        Err(e) => {
            i.reject(
                "macos.plist.malformed",
                format!("{info_name} does not parse: {e}"),
            );
            return;
        }
    };
    i.identity = get_str(&info, "CFBundleIdentifier").map(str::to_owned);
    i.version = get_str(&info, "CFBundleShortVersionString").map(str::to_owned);
    i.build = get_str(&info, "CFBundleVersion").map(str::to_owned);
    i.display_name = get_str(&info, "CFBundleDisplayName")
        .or_else(|| get_str(&info, "CFBundleName"))
        .map(str::to_owned);
    i.min_os = get_str(&info, "LSMinimumSystemVersion").map(str::to_owned);
    i.target_sdk = get_str(&info, "DTSDKName").map(str::to_owned);
    details.insert("bundle_name".into(), json!(get_str(&info, "CFBundleName")));
    details.insert(
        "version_source".into(),
        json!(
            i.version
                .as_ref()
                .map(|_| "Info.plist CFBundleShortVersionString")
        ),
    );
    if i.identity.is_none() {
        i.reject(
            "macos.plist.no_identifier",
            format!("{info_name} has no CFBundleIdentifier"),
        );
    }
    if i.version.is_none() {
        i.findings.push(Finding::info(
            "macos.plist.no_short_version",
            format!(
                "{info_name} has no CFBundleShortVersionString: Finder shows the build number{} as the version",
                i.build.as_ref().map(|b| format!(" {b}")).unwrap_or_default()
            ),
        ));
    }

    let resources_name = format!("{contents}_CodeSignature/CodeResources");
    let resources = tree
        .read(&resources_name, limits.max_structure_bytes)
        .ok()
        .flatten();
    let ticket = read_ticket(tree, &contents);

    let Some(exe) = get_str(&info, "CFBundleExecutable")
        .filter(|e| !e.is_empty() && !e.contains('/'))
        .map(str::to_owned)
    else {
        i.reject(
            "macos.plist.no_executable",
            format!("{info_name} names no CFBundleExecutable"),
        );
        i.details = details;
        return;
    };
    let exe_path = format!("{contents}MacOS/{exe}");
    if tree.node(&exe_path).is_none() {
        i.reject(
            "macos.app.no_executable",
            format!("the executable {exe_path} named by Info.plist is missing"),
        );
        i.details = details;
        return;
    }
    let (m, check) = match code::check_in_tree(
        tree,
        &exe_path,
        Some(&info_bytes),
        resources.as_deref(),
        limits,
    ) {
        Ok(x) => x,
        Err(e) => {
            i.reject("macos.macho.malformed", e);
            i.details = details;
            return;
        }
    };
    let archs = m.archs();
    let universal = m.fat
        && archs.iter().any(|a| a.starts_with("arm64"))
        && archs.iter().any(|a| a.starts_with("x86_64"));
    details.insert("universal".into(), json!(universal));
    details.insert(
        "slices".into(),
        json!(
            m.slices
                .iter()
                .map(|s| json!({
                    "arch": s.arch, "platform": s.platform, "min_os": s.min_os, "sdk": s.sdk,
                    "signed": s.signature.is_some(),
                }))
                .collect::<Vec<_>>()
        ),
    );
    if i.min_os.is_some() {
        details.insert(
            "min_os_source".into(),
            json!("Info.plist LSMinimumSystemVersion"),
        );
    } else if let Some(s) = m.slices.iter().find(|s| s.min_os.is_some()) {
        i.min_os = s.min_os.clone();
        details.insert(
            "min_os_source".into(),
            json!(format!(
                "the {} slice's load commands (LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX): Info.plist has no LSMinimumSystemVersion",
                s.arch
            )),
        );
    }
    if !archs.iter().any(|a| a.starts_with("arm64")) {
        i.findings.push(Finding::info(
            "macos.build.no_apple_silicon",
            format!(
                "{exe_path} holds no arm64 code ({}): on Apple silicon Macs it runs under Rosetta 2, which users must install",
                archs.join(", ")
            ),
        ));
    }
    i.archs = Some(archs);
    if let Some(s) = m.slices.iter().find(|s| {
        s.platform
            .is_some_and(|p| p != format_apple::macho::PLATFORM_MACOS)
    }) {
        i.findings.push(Finding::error(
            "macos.build.not_macos",
            format!(
                "the {} slice of {exe_path} is built for platform {}, not macOS",
                s.arch,
                s.platform.unwrap_or(0)
            ),
        ));
    }

    let report = code::judge(
        &check,
        ctx.now_unix,
        &format!("the app {}", app.trim_end_matches('/')),
    );
    i.signature = report.signature.clone();
    i.findings.extend(report.findings.iter().cloned());
    if let (Some(cd), Some(bid)) = (&report.identifier, &i.identity)
        && cd != bid
        && report.signing != Signing::LinkerSigned
    {
        i.findings.push(Finding::warning(
            "macos.signature.identifier_mismatch",
            format!("the code signature's identifier {cd} differs from the bundle id {bid}"),
        ));
    }

    // The seal and nested code (only when the main executable is signed: an unsigned app
    // has no seal to check against).
    if report.signing != Signing::Unsigned {
        let mut sc = SealCheck::default();
        verify_bundle(
            tree,
            &contents,
            &format!("MacOS/{exe}"),
            resources.as_deref(),
            report.signing == Signing::LinkerSigned,
            0,
            ctx,
            &mut sc,
        );
        details.insert(
            "seal".into(),
            json!({
                "files_checked": sc.files_checked,
                "nested_code": sc.nested,
                "problems": sc.problems,
            }),
        );
        if !sc.problems.is_empty() {
            i.signature.state = SignatureState::Invalid;
            i.signature.digest_ok = Some(false);
            i.findings.push(Finding::error(
                "macos.signature.invalid",
                format!(
                    "the bundle does not match its signature: {}; macOS reports the app as damaged",
                    sc.problems.join("; ")
                ),
            ));
        }
    }
    details.insert("code_signature".into(), report.details.clone());

    // Embedded profile.
    let profile_name = format!("{contents}embedded.provisionprofile");
    let mut profile_team = None;
    match tree.read(&profile_name, limits.max_structure_bytes) {
        Ok(Some(d)) => {
            let p = read_profile(&d);
            profile_team = p.facts.as_ref().and_then(|f| f.team_id.clone());
            if let Some(e) = &p.error {
                i.findings.push(Finding::error(
                    "macos.profile.malformed",
                    format!("{profile_name}: {e}"),
                ));
            }
            if let (Some(pt), Some(st)) = (&profile_team, &report.team_id)
                && pt != st
            {
                i.findings.push(Finding::error(
                    "macos.profile.team_mismatch",
                    format!("the app is signed by team {st}, but its embedded profile belongs to team {pt}: macOS refuses to launch it with the entitlements the profile grants"),
                ));
            }
            if let Some(exp) = p.facts.as_ref().and_then(|f| f.expires)
                && exp < ctx.now_unix
            {
                i.findings.push(Finding::warning(
                    "macos.profile.expired",
                    format!("the embedded provisioning profile expired {}: the entitlements it grants stop working", format_apple::rfc3339(exp)),
                ));
            }
            details.insert("profile".into(), p.details);
        }
        Ok(None) => {}
        Err(e) => i
            .findings
            .push(Finding::error("macos.profile.malformed", e)),
    }
    let team = if i.signature.state == SignatureState::Signed {
        report.team_id.clone().or(profile_team)
    } else {
        None
    };
    if let Some(t) = &team {
        details.insert("team_id".into(), json!(t));
    }

    // Only a signature that verifies to Apple's root is a Developer ID signature.
    let status = notarization::status(
        notarization::verified_signing(report.signing, i.signature.state),
        &ticket,
    );
    i.findings
        .extend(notarization::findings(status, &ticket, "the app"));
    details.insert(
        "notarization".into(),
        notarization::details(status, &ticket, "Contents/CodeResources"),
    );

    if let Some(why) = tree.limit_hit().or_else(|| {
        ctx.budget
            .exhausted()
            .then(|| "the decompression budget is spent".into())
    }) {
        crate::reject_at_limit(i, "macos.archive.limit", why);
    }
    i.details = details;
}

fn read_ticket(tree: &mut dyn Tree, contents: &str) -> Ticket {
    let name = format!("{contents}CodeResources");
    match tree.read(&name, MAX_TICKET) {
        Ok(Some(d)) if !d.is_empty() => Ticket::Present { bytes: d.len() },
        Ok(_) => Ticket::Absent,
        Err(e) => Ticket::Unreadable(e),
    }
}

/// An embedded or stand-alone provisioning profile: its facts and details.
pub struct ProfileInfo {
    pub facts: Option<ProfileFacts>,
    /// Team-prefixed app id: `application-identifier`, or macOS's
    /// `com.apple.application-identifier`.
    pub app_id: Option<String>,
    pub signature_ok: Option<bool>,
    pub chain_ok: Option<bool>,
    pub signers: Vec<(String, String)>,
    pub error: Option<String>,
    pub details: Json,
}

pub fn read_profile(data: &[u8]) -> ProfileInfo {
    let mut out = ProfileInfo {
        facts: None,
        app_id: None,
        signature_ok: None,
        chain_ok: None,
        signers: Vec::new(),
        error: None,
        details: json!({}),
    };
    let content = match profile::open(data) {
        Err(e) => {
            out.error = Some(e);
            return out;
        }
        Ok(Envelope::Bare) => {
            out.error = Some("the profile is a bare plist, not signed by Apple".into());
            data.to_vec()
        }
        Ok(Envelope::Cms { check, content }) => {
            out.signature_ok = Some(check.signature_ok);
            out.chain_ok = Some(check.chain_ok);
            out.signers = check.signers.clone();
            if !check.signature_ok {
                out.error = Some(format!(
                    "its CMS signature does not verify: {}",
                    check.error.unwrap_or_default()
                ));
            }
            match content {
                Some(c) => c,
                None => {
                    out.error = Some("the CMS carries no plist".into());
                    return out;
                }
            }
        }
    };
    let dict = match plistx::parse(&content)
        .ok()
        .and_then(|p| p.value.into_dictionary())
    {
        Some(d) => d,
        None => {
            out.error = Some("its plist does not parse".into());
            return out;
        }
    };
    let f = ProfileFacts::from_dictionary(&dict);
    out.app_id = f.app_id.clone().or_else(|| {
        f.entitlements
            .as_ref()
            .and_then(|e| get_str(e, "com.apple.application-identifier"))
            .map(str::to_owned)
    });
    out.details = json!({
        "name": f.name,
        "uuid": f.uuid,
        "team_id": f.team_id,
        "team_name": f.team_name,
        "app_id": out.app_id,
        "platforms": f.platforms,
        "devices": f.udids.len(),
        "provisions_all_devices": f.provisions_all_devices,
        "created": f.created.map(format_apple::rfc3339),
        "expires": f.expires.map(format_apple::rfc3339),
        "developer_certificates": f.developer_certificates.iter().map(|c| c.sha256.clone()).collect::<Vec<_>>(),
        "signature_ok": out.signature_ok,
        "chain_ok": out.chain_ok,
    });
    out.facts = Some(f);
    out
}

/// Where nested code sits in a macOS bundle's `Contents/` (or a framework version's folder),
/// by its first path components: `formats/apple`'s roots plus the macOS-only `Helpers/` and
/// `Library/LoginItems/` apps and helper executables in `MacOS/`.
fn mac_nested_root(rel: &str) -> Option<String> {
    if let Some(r) = seal::nested_root(rel) {
        return Some(r);
    }
    let parts: Vec<&str> = rel.splitn(4, '/').collect();
    match parts.as_slice() {
        ["Helpers", item, _, ..] if item.ends_with(".app") => Some(format!("Helpers/{item}")),
        ["Library", "LoginItems", item, _, ..] if item.ends_with(".app") => {
            Some(format!("Library/LoginItems/{item}"))
        }
        _ => None,
    }
}

/// The folder a nested bundle's code lives in (with a trailing `/`) and where its
/// Info.plist is: `X.app/Contents/`, a versioned framework's `Versions/<Current>/`, or the
/// folder itself for a flat bundle.
fn bundle_layout(tree: &mut dyn Tree, root: &str) -> (String, String, String) {
    if tree.node(&format!("{root}/Contents/Info.plist")).is_some() {
        let c = format!("{root}/Contents/");
        return (c.clone(), format!("{c}Info.plist"), format!("{c}MacOS/"));
    }
    if root.ends_with(".framework") {
        let current = tree
            .link_target(&format!("{root}/Versions/Current"))
            .ok()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .filter(|t| !t.is_empty() && !t.contains('/') && t != "..")
            .unwrap_or_else(|| "A".into());
        let v = format!("{root}/Versions/{current}/");
        if tree.node(&format!("{v}Resources/Info.plist")).is_some() {
            return (v.clone(), format!("{v}Resources/Info.plist"), v);
        }
    }
    let f = format!("{root}/");
    (f.clone(), format!("{f}Info.plist"), f)
}

/// Checks the bundle folder `dir` (ends in `/`) against its seal, then every nested code item
/// in it, recursively up to `limits.max_depth`. `exe` is the main executable relative to
/// `dir`. A linker-signed executable seals no resources: its folder is not checked.
#[allow(clippy::too_many_arguments)]
fn verify_bundle(
    tree: &mut dyn Tree,
    dir: &str,
    exe: &str,
    resources: Option<&[u8]>,
    linker_signed: bool,
    depth: u32,
    ctx: &InspectContext,
    out: &mut SealCheck,
) {
    let limits = &ctx.limits;
    let label = dir.trim_end_matches('/');
    let rels: Vec<String> = tree
        .nodes()
        .iter()
        .filter(|n| n.kind != NodeKind::Dir && n.path.starts_with(dir) && n.path.len() > dir.len())
        .map(|n| n.path[dir.len()..].to_owned())
        .collect();
    let parsed = match resources {
        None => {
            let others = rels
                .iter()
                .filter(|r| {
                    *r != exe
                        && *r != "Info.plist"
                        && *r != "PkgInfo"
                        && *r != "CodeResources"
                        && !r.starts_with("_CodeSignature/")
                })
                .count();
            if others > 0 && !linker_signed {
                out.problems.push(format!(
                    "{label}: no _CodeSignature/CodeResources seals its {others} other files"
                ));
            }
            None
        }
        Some(d) => match seal::parse(d, limits.max_entries) {
            Ok(s) => Some(s),
            Err(e) => {
                out.problems
                    .push(format!("{label}: _CodeSignature/CodeResources: {e}"));
                None
            }
        },
    };
    if let Some(s) = &parsed {
        let mut files = BundleDir {
            tree: &mut *tree,
            dir: dir.to_owned(),
            cap: limits.max_streamed_bytes,
        };
        let r = seal::check_files(&mut files, exe, s);
        out.files_checked += r.files_checked;
        out.problems.extend(
            r.problems
                .into_iter()
                // The stapled ticket is written after signing, beside the seal.
                .filter(|p| !p.starts_with("CodeResources was added"))
                .map(|p| format!("{label}: {p}")),
        );
    }
    let roots: BTreeSet<String> = rels.iter().filter_map(|r| mac_nested_root(r)).collect();
    // Helper executables in MacOS/ other than the main one, listed by the seal as code.
    let helpers: Vec<String> = parsed
        .as_ref()
        .map(|s| {
            rels.iter()
                .filter(|r| r.starts_with("MacOS/") && *r != exe)
                .filter(|r| seal::listed_cdhash(s, r).is_some())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for root in roots.into_iter().chain(helpers) {
        if out.nested.len() >= seal::MAX_NESTED {
            out.problems.push(format!(
                "more than {} nested code items; the rest were not verified",
                seal::MAX_NESTED
            ));
            return;
        }
        if depth + 1 > limits.max_depth {
            out.problems.push(format!(
                "{label}/{root}: nested deeper than {} levels",
                limits.max_depth
            ));
            continue;
        }
        let full = format!("{dir}{root}");
        let is_file = tree.node(&full).is_some_and(|n| n.kind == NodeKind::File);
        let (code_dir, exe_path, nexe, info, res) = if is_file {
            (String::new(), full.clone(), String::new(), None, None)
        } else {
            let (cdir, info_path, exe_dir) = bundle_layout(tree, &full);
            let info = match tree.read(&info_path, limits.max_member_bytes) {
                Ok(Some(d)) => d,
                Ok(None) => {
                    out.problems.push(format!(
                        "{label}/{root}: no Info.plist names its executable"
                    ));
                    continue;
                }
                Err(e) => {
                    out.problems.push(format!("{label}/{root}: {e}"));
                    continue;
                }
            };
            let Some(nexe) = parse_plist(&info)
                .ok()
                .and_then(|d| get_str(&d, "CFBundleExecutable").map(str::to_owned))
                .filter(|e| !e.is_empty() && !e.contains('/'))
            else {
                out.problems.push(format!(
                    "{label}/{root}: Info.plist names no CFBundleExecutable"
                ));
                continue;
            };
            let res = tree
                .read(
                    &format!("{cdir}_CodeSignature/CodeResources"),
                    limits.max_structure_bytes,
                )
                .ok()
                .flatten();
            let exe_path = format!("{exe_dir}{nexe}");
            let rel_exe = exe_path[cdir.len()..].to_owned();
            (cdir, exe_path, rel_exe, Some(info), res)
        };
        match code::check_in_tree(tree, &exe_path, info.as_deref(), res.as_deref(), limits) {
            Err(e) => out.problems.push(format!("{label}/{root}: {e}")),
            Ok((_, c)) => {
                let r = code::judge(&c, ctx.now_unix, &root);
                if matches!(
                    r.signature.state,
                    SignatureState::Invalid | SignatureState::Unsigned
                ) {
                    let why: Vec<&str> = r
                        .findings
                        .iter()
                        .filter(|f| {
                            matches!(
                                f.code.as_str(),
                                "macos.signature.invalid" | "macos.signature.missing"
                            )
                        })
                        .map(|f| f.message.as_str())
                        .collect();
                    out.problems.push(format!(
                        "{label}/{root}: its code signature does not verify ({})",
                        why.join("; ")
                    ));
                }
                if let Some(listed) = parsed
                    .as_ref()
                    .and_then(|s| seal::listed_cdhash(s, &root))
                    .flatten()
                    && !r.cdhashes.iter().any(|h| h.starts_with(&listed))
                    && !c.directories.iter().any(|d| d.cdhash.starts_with(&listed))
                {
                    out.problems.push(format!(
                        "{label}/{root}: its code is not the code the seal lists (CodeDirectory hash {} where {listed} was sealed)",
                        r.cdhashes.first().map(String::as_str).unwrap_or("none")
                    ));
                }
                out.nested.push(json!({
                    "path": format!("{label}/{root}"),
                    "state": r.signature.state,
                    "signing": r.signing.id(),
                    "cdhash": r.cdhashes.first(),
                }));
                if !is_file {
                    let linker = r.signing == Signing::LinkerSigned;
                    verify_bundle(
                        tree,
                        &code_dir,
                        &nexe,
                        res.as_deref(),
                        linker,
                        depth + 1,
                        ctx,
                        out,
                    );
                }
            }
        }
    }
}
