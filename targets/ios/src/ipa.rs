//! IPA inspection: the zip index, then only the members we parse (Info.plists, profiles,
//! the main executable twice as a stream, one icon).

use platform::{Finding, InspectContext, Inspected, Inspection, Limits, ReadSeek};
use plist::{Dictionary, Value};
use serde_json::{Map, json};

use crate::archive::{Archive, Member};

use crate::binary;
use crate::cgbi;
use crate::profile::{self, ProfileRead};
use format_apple::bytes::Stream;
use format_apple::macho;
use format_apple::plistx::{self, get_str};
use format_apple::seal;

/// Extensions we describe; more is a finding, not an allocation.
const MAX_EXTENSIONS: usize = 64;
/// Largest icon we read.
const MAX_ICON_BYTES: u64 = 4 * 1024 * 1024;

pub fn is_main_info_plist(n: &str) -> bool {
    let parts: Vec<&str> = n.split('/').collect();
    parts.len() == 3
        && parts[0] == "Payload"
        && parts[1].len() > 4
        && parts[1].ends_with(".app")
        && parts[2] == "Info.plist"
}

fn read_member(zip: &mut Archive<'_>, name: &str, limit: u64) -> Result<Member, String> {
    zip.read(name, limit)
}

fn parse_info_plist(data: &[u8]) -> Result<Dictionary, String> {
    let v = Value::from_reader(std::io::Cursor::new(data)).map_err(|e| e.to_string())?;
    v.into_dictionary()
        .ok_or_else(|| "Info.plist is not a dictionary".to_owned())
}

fn device_families(d: &Dictionary) -> Option<Vec<String>> {
    let one = |v: &Value| -> Option<i64> {
        v.as_signed_integer()
            .or_else(|| v.as_unsigned_integer().and_then(|u| i64::try_from(u).ok()))
            .or_else(|| v.as_string().and_then(|s| s.parse().ok()))
    };
    let nums: Vec<i64> = match d.get("UIDeviceFamily")? {
        Value::Array(a) => a.iter().filter_map(one).collect(),
        v => one(v).into_iter().collect(),
    };
    Some(
        nums.into_iter()
            .map(|n| match n {
                1 => "iphone".to_owned(),
                2 => "ipad".to_owned(),
                3 => "tv".to_owned(),
                4 => "watch".to_owned(),
                6 => "mac".to_owned(),
                7 => "vision".to_owned(),
                other => format!("family-{other}"),
            })
            .collect(),
    )
}

pub fn inspect(input: &mut dyn ReadSeek, ctx: &InspectContext) -> Inspected {
    let mut i = Inspection::new(
        &ctx.file_name,
        ctx.size,
        "ios".parse().expect("literal platform id"),
        "ipa".parse().expect("literal kind"),
    );
    let limits = &ctx.limits;
    let mut zip = match Archive::open(input, ctx.size, limits, &ctx.budget) {
        Ok(z) => z,
        Err(format_zip::ZipError::Limit(e)) => {
            i.reject("ios.zip.too_many_entries", e);
            return i.into();
        }
        Err(e) => {
            i.reject(
                "ios.zip.malformed",
                format!("the IPA does not open as a zip archive: {e}"),
            );
            return i.into();
        }
    };
    let names: Vec<String> = zip.names();
    let mains: Vec<&String> = names.iter().filter(|n| is_main_info_plist(n)).collect();
    let Some(info_name) = mains.first().map(|s| s.to_string()) else {
        i.reject(
            "ios.ipa.no_app",
            "no Payload/<name>.app/Info.plist: this is not an iOS app archive",
        );
        return i.into();
    };
    if mains.len() > 1 {
        i.findings.push(Finding::warning(
            "ios.ipa.several_apps",
            format!(
                "{} apps under Payload/; only {info_name} was read",
                mains.len()
            ),
        ));
    }
    let app_dir = info_name.trim_end_matches("Info.plist").to_owned();

    let info_bytes = match read_member(&mut zip, &info_name, limits.max_member_bytes) {
        Ok(Member::Data(d)) => d,
        Ok(Member::Missing) => {
            // Listed in the index a moment ago: the index is inconsistent.
            i.reject(
                "ios.zip.malformed",
                format!("{info_name} is listed but cannot be opened"),
            );
            return i.into();
        }
        Err(e) => {
            i.reject("ios.zip.malformed", e);
            return i.into();
        }
    };
    let info = match parse_info_plist(&info_bytes) {
        Ok(d) => d,
        Err(e) => {
            i.reject(
                "ios.plist.malformed",
                format!("{info_name} does not parse: {e}"),
            );
            return i.into();
        }
    };
    i.identity = get_str(&info, "CFBundleIdentifier").map(str::to_owned);
    i.version = get_str(&info, "CFBundleShortVersionString").map(str::to_owned);
    i.build = get_str(&info, "CFBundleVersion").map(str::to_owned);
    i.display_name = get_str(&info, "CFBundleDisplayName")
        .or_else(|| get_str(&info, "CFBundleName"))
        .map(str::to_owned);
    i.min_os = get_str(&info, "MinimumOSVersion").map(str::to_owned);
    i.target_sdk = get_str(&info, "DTSDKName").map(str::to_owned);
    i.device_family = device_families(&info);
    if i.identity.is_none() {
        i.reject(
            "ios.plist.no_identifier",
            format!("{info_name} has no CFBundleIdentifier"),
        );
    }
    let platform_name = get_str(&info, "DTPlatformName").map(str::to_owned);
    let mut details = Map::new();
    details.insert("app".into(), json!(app_dir.trim_end_matches('/')));
    details.insert("platform_name".into(), json!(platform_name));
    details.insert(
        "supported_platforms".into(),
        info.get("CFBundleSupportedPlatforms")
            .map(plistx::to_json)
            .unwrap_or(json!(null)),
    );
    details.insert(
        "required_device_capabilities".into(),
        info.get("UIRequiredDeviceCapabilities")
            .map(plistx::to_json)
            .unwrap_or(json!(null)),
    );

    // Provisioning profile.
    let profile_name = format!("{app_dir}embedded.mobileprovision");
    let prof: Option<ProfileRead> =
        match read_member(&mut zip, &profile_name, limits.max_structure_bytes) {
            Ok(Member::Data(d)) => Some(profile::read(&d, ctx.now_unix)),
            Ok(Member::Missing) => {
                i.findings.push(Finding::error(
                "ios.profile.missing",
                "no embedded.mobileprovision: the app cannot be installed outside the App Store",
            ));
                None
            }
            Err(e) => {
                i.findings.push(Finding::error("ios.profile.malformed", e));
                None
            }
        };
    if let Some(p) = &prof {
        for (code, msg) in &p.rejects {
            // A broken embedded profile is the app's problem, not a malformed archive.
            i.findings.push(Finding::error(code.clone(), msg.clone()));
        }
        i.findings.extend(p.findings.iter().cloned());
        details.insert("profile".into(), p.details.clone());
        details.insert("profile_signature".into(), json!(p.signature));
    }

    // Main executable: pass one reads headers and the signature, pass two the code pages.
    let resources = match read_member(
        &mut zip,
        &format!("{app_dir}_CodeSignature/CodeResources"),
        limits.max_structure_bytes,
    ) {
        Ok(Member::Data(d)) => Some(d),
        _ => None,
    };
    let mut signing_team = None;
    let mut signer_shas: Vec<String> = Vec::new();

    match get_str(&info, "CFBundleExecutable") {
        None => i.reject(
            "ios.plist.no_executable",
            "Info.plist names no CFBundleExecutable",
        ),
        Some(exe) => {
            let exe_name = format!("{app_dir}{exe}");
            let scanned = match zip.entry(&exe_name) {
                Some(e) if e.size <= limits.max_streamed_bytes => Some(
                    zip.stream(&e, limits.max_streamed_bytes, |r| {
                        macho::scan(r, &crate::macho_limits(limits)).map_err(|e| e.to_string())
                    })
                    .and_then(|r| r),
                ),
                Some(e) => Some(Err(format!(
                    "{} bytes, more than the limit of {}",
                    e.size, limits.max_streamed_bytes
                ))),
                None => None,
            };
            match scanned {
                None => i.reject(
                    "ios.ipa.no_executable",
                    format!("the executable {exe_name} named by Info.plist is missing"),
                ),
                Some(Err(e)) => i.reject(
                    "ios.macho.malformed",
                    format!("the executable {exe_name} does not read as Mach-O: {e}"),
                ),
                Some(Ok(m)) => {
                    i.archs = Some(m.archs());
                    if m.slices.iter().any(|s| s.encrypted) {
                        i.findings.push(Finding::warning(
                            "ios.build.encrypted",
                            "the executable is FairPlay-encrypted (downloaded from the App Store); it cannot be redistributed",
                        ));
                    }
                    let Some(exe_entry) = zip.entry(&exe_name) else {
                        i.reject("ios.zip.malformed", format!("{exe_name} vanished"));
                        return finish(i, details, None);
                    };
                    let report = match zip.stream(&exe_entry, limits.max_streamed_bytes, |r| {
                        binary::check(
                            &m,
                            Stream::new(r),
                            Some(&info_bytes),
                            resources.as_deref(),
                            ctx.now_unix,
                            limits,
                        )
                    }) {
                        Ok(r) => r,
                        Err(e) => {
                            i.reject("ios.zip.malformed", e);
                            return finish(i, details, None);
                        }
                    };
                    i.signature = report.signature;
                    i.findings.extend(report.findings);
                    // The bundle's other files and nested code, against the seal this
                    // signature vouches for (through CodeResources' special slot).
                    let mut bundle = BundleCheck::default();
                    verify_bundle(
                        &mut zip,
                        &app_dir,
                        exe,
                        resources.as_deref(),
                        0,
                        ctx,
                        &mut bundle,
                    );
                    details.insert(
                        "seal".into(),
                        json!({
                            "files_checked": bundle.files_checked,
                            "nested_code": bundle.nested,
                            "problems": bundle.problems,
                        }),
                    );
                    if !bundle.problems.is_empty() {
                        i.signature.state = platform::SignatureState::Invalid;
                        i.signature.digest_ok = Some(false);
                        i.findings.push(Finding::error(
                            "ios.signature.invalid",
                            format!(
                                "the bundle does not match its signature: {}",
                                bundle.problems.join("; ")
                            ),
                        ));
                    }
                    signing_team = report.team_id.clone();
                    signer_shas = i
                        .signature
                        .signers
                        .iter()
                        .map(|s| s.sha256.clone())
                        .collect();
                    if let (Some(cdid), Some(bid)) = (&report.identifier, &i.identity)
                        && cdid != bid
                    {
                        i.findings.push(Finding::warning(
                            "ios.signature.identifier_mismatch",
                            format!("the code signature's identifier {cdid} differs from the bundle id {bid}"),
                        ));
                    }
                    details.insert("code_signature".into(), report.details);
                    let sim_archs = m
                        .slices
                        .iter()
                        .all(|s| matches!(s.arch.as_str(), "x86_64" | "i386" | "x86_64h"));
                    let sim_platform = m
                        .slices
                        .iter()
                        .all(|s| matches!(s.platform, Some(7..=9) | Some(12)));
                    if sim_archs
                        || sim_platform
                        || platform_name.as_deref() == Some("iphonesimulator")
                    {
                        i.findings.push(Finding::error(
                            "ios.build.simulator",
                            "a simulator build: it runs in the iOS Simulator only, never on a device",
                        ));
                    }
                }
            }
        }
    }
    if platform_name.as_deref() == Some("iphonesimulator")
        && !i.findings.iter().any(|f| f.code == "ios.build.simulator")
    {
        i.findings.push(Finding::error(
            "ios.build.simulator",
            "DTPlatformName is iphonesimulator: it runs in the iOS Simulator only",
        ));
    }

    // Profile against the app.
    if let Some(p) = &prof {
        let bundle_id = i.identity.clone();
        check_profile_vs_app(
            &mut i,
            p,
            bundle_id.as_deref(),
            signing_team.as_deref(),
            &signer_shas,
            "the app",
        );
    }
    // The identity fact the app's team rule reads: the profile's team (what the generic
    // rule always read), else the code signature's; `check_identity` adds the signature's.
    let profile_team = prof
        .as_ref()
        .and_then(|p| p.profile.as_ref())
        .map(|p| p.team_id.clone());
    let team = profile_team.clone().or_else(|| signing_team.clone());
    if let Some(t) = &team {
        details.insert("team_id".into(), json!(t));
    }
    if let Some(p) = &prof
        && let Some(n) = &p.team_name
    {
        details.insert("team_name".into(), json!(n));
    }

    // Extensions and watch apps.
    let main_team = profile_team.or(signing_team);
    let exts = extensions(
        &mut zip,
        &names,
        &app_dir,
        &i.identity,
        main_team.as_deref(),
        ctx,
        &mut i.findings,
    );
    details.insert("extensions".into(), json!(exts));

    let icon = icon(&mut zip, &names, &app_dir, &info, limits, &mut i.findings);
    // A spent decompression budget means some check did not finish: say so, and do not let
    // what was left unchecked read as signed (issue 10, item 6).
    if let Some(why) = zip.limit_hit.clone().or_else(|| {
        ctx.budget
            .exhausted()
            .then(|| "the decompression budget is spent".into())
    }) {
        i.reject("ios.zip.limit", why);
        if i.signature.state == platform::SignatureState::Signed
            || i.signature.state == platform::SignatureState::Untrusted
        {
            i.signature.state = platform::SignatureState::Unknown;
            i.signature.digest_ok = None;
        }
    }
    crate::install::soften_install_only(&mut i);
    finish(i, details, icon)
}

/// What verifying a bundle's seal and nested code found, over all nesting levels.
#[derive(Default)]
struct BundleCheck {
    problems: Vec<String>,
    files_checked: usize,
    nested: Vec<serde_json::Value>,
}

/// One executable's code signature, read out of the archive like the main one (headers, then
/// code pages).
fn verify_code(
    zip: &mut Archive<'_>,
    exe_name: &str,
    info: Option<&[u8]>,
    resources: Option<&[u8]>,
    ctx: &InspectContext,
) -> Result<binary::BinaryReport, String> {
    let limits = &ctx.limits;
    let e = zip
        .entry(exe_name)
        .ok_or_else(|| format!("its executable {exe_name} is missing"))?;
    if e.size > limits.max_streamed_bytes {
        return Err(format!(
            "{exe_name}: {} bytes, more than the limit of {}",
            e.size, limits.max_streamed_bytes
        ));
    }
    let m = zip
        .stream(&e, limits.max_streamed_bytes, |r| {
            macho::scan(r, &crate::macho_limits(limits)).map_err(|e| e.to_string())
        })
        .and_then(|r| r)
        .map_err(|err| format!("{exe_name} does not read as Mach-O: {err}"))?;
    zip.stream(&e, limits.max_streamed_bytes, |r| {
        binary::check(&m, Stream::new(r), info, resources, ctx.now_unix, limits)
    })
}

/// Checks the bundle at `dir` (a zip path ending in `/`) against its seal, then every
/// nested code item in it, recursively up to `limits.max_depth`.
fn verify_bundle(
    zip: &mut Archive<'_>,
    dir: &str,
    exe: &str,
    resources: Option<&[u8]>,
    depth: u32,
    ctx: &InspectContext,
    out: &mut BundleCheck,
) {
    let limits = &ctx.limits;
    let label = dir
        .strip_prefix("Payload/")
        .unwrap_or(dir)
        .trim_end_matches('/');
    let rels: Vec<String> = zip
        .index
        .entries
        .iter()
        .filter(|e| !e.is_dir() && e.name.starts_with(dir) && e.name.len() > dir.len())
        .map(|e| e.name[dir.len()..].to_owned())
        .collect();
    let seal = match resources {
        None => {
            let others = rels
                .iter()
                .filter(|r| *r != exe && *r != "Info.plist" && !r.starts_with("_CodeSignature/"))
                .count();
            if others > 0 {
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
    if let Some(s) = &seal {
        let mut files = crate::archive::BundleDir::new(zip, dir, limits.max_streamed_bytes);
        let r = seal::check_files(&mut files, exe, s);
        out.files_checked += r.files_checked;
        out.problems
            .extend(r.problems.into_iter().map(|p| format!("{label}: {p}")));
    }
    let roots: std::collections::BTreeSet<String> =
        rels.iter().filter_map(|r| seal::nested_root(r)).collect();
    for root in roots {
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
        let ndir = format!("{dir}{root}/");
        let (exe_path, nexe, info, res) = if root.ends_with(".dylib") {
            (format!("{dir}{root}"), String::new(), None, None)
        } else {
            let info = match zip.read(&format!("{ndir}Info.plist"), limits.max_member_bytes) {
                Ok(Member::Data(d)) => d,
                Ok(Member::Missing) => {
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
            let Some(nexe) = parse_info_plist(&info)
                .ok()
                .and_then(|d| get_str(&d, "CFBundleExecutable").map(str::to_owned))
                .filter(|e| !e.is_empty() && !e.contains('/'))
            else {
                out.problems.push(format!(
                    "{label}/{root}: Info.plist names no CFBundleExecutable"
                ));
                continue;
            };
            let res = match zip.read(
                &format!("{ndir}_CodeSignature/CodeResources"),
                limits.max_structure_bytes,
            ) {
                Ok(Member::Data(d)) => Some(d),
                _ => None,
            };
            (format!("{ndir}{nexe}"), nexe, Some(info), res)
        };
        match verify_code(zip, &exe_path, info.as_deref(), res.as_deref(), ctx) {
            Err(e) => out.problems.push(format!("{label}/{root}: {e}")),
            Ok(r) => {
                let hashes = r.cdhashes();
                if matches!(
                    r.signature.state,
                    platform::SignatureState::Invalid | platform::SignatureState::Unsigned
                ) {
                    let why: Vec<&str> = r
                        .findings
                        .iter()
                        .filter(|f| {
                            matches!(
                                f.code.as_str(),
                                "ios.signature.invalid" | "ios.signature.missing"
                            )
                        })
                        .map(|f| f.message.as_str())
                        .collect();
                    out.problems.push(format!(
                        "{label}/{root}: its code signature does not verify ({})",
                        why.join("; ")
                    ));
                }
                if let Some(listed) = seal
                    .as_ref()
                    .and_then(|s| seal::listed_cdhash(s, &root))
                    .flatten()
                    && !hashes.iter().any(|h| h.starts_with(&listed))
                {
                    out.problems.push(format!(
                        "{label}/{root}: its code is not the code the seal lists (CodeDirectory hash {} where {listed} was sealed)",
                        hashes.first().map(String::as_str).unwrap_or("none")
                    ));
                }
                out.nested.push(json!({
                    "path": format!("{label}/{root}"),
                    "state": r.signature.state,
                    "cdhash": hashes.first(),
                }));
            }
        }
        if !root.ends_with(".dylib") {
            verify_bundle(zip, &ndir, &nexe, res.as_deref(), depth + 1, ctx, out);
        }
    }
}

fn finish(
    mut i: Inspection,
    details: Map<String, serde_json::Value>,
    icon: Option<Vec<u8>>,
) -> Inspected {
    i.details = details;
    Inspected {
        inspection: i,
        icon_png: icon,
    }
}

/// Profile checks against the bundle it is embedded in.
fn check_profile_vs_app(
    i: &mut Inspection,
    p: &ProfileRead,
    bundle_id: Option<&str>,
    signing_team: Option<&str>,
    signer_shas: &[String],
    what: &str,
) {
    if let (Some(app_id), Some(bid)) = (&p.app_id, bundle_id) {
        let pattern = profile::strip_team(app_id);
        if !profile::app_id_matches(pattern, bid) {
            i.findings.push(Finding::error(
                "ios.profile.app_id_mismatch",
                format!("{what}'s bundle id {bid} is not covered by the profile's app id {app_id}"),
            ));
        }
    }
    if let (Some(prof), Some(team)) = (&p.profile, signing_team)
        && prof.team_id != team
    {
        i.findings.push(Finding::error(
            "ios.profile.team_mismatch",
            format!(
                "{what} is signed by team {team}, but its profile belongs to team {}",
                prof.team_id
            ),
        ));
    }
    if !signer_shas.is_empty()
        && !p.developer_cert_sha256.is_empty()
        && !signer_shas
            .iter()
            .any(|s| p.developer_cert_sha256.contains(s))
    {
        i.findings.push(Finding::error(
            "ios.profile.certificate_not_included",
            format!("{what}'s signing certificate is not one of the profile's developer certificates; iOS will refuse to install it"),
        ));
    }
}

fn extensions(
    zip: &mut Archive<'_>,
    names: &[String],
    app_dir: &str,
    main_id: &Option<String>,
    main_team: Option<&str>,
    ctx: &InspectContext,
    findings: &mut Vec<Finding>,
) -> Vec<serde_json::Value> {
    let limits = &ctx.limits;
    let mut out = Vec::new();
    let bundles: Vec<&String> = names
        .iter()
        .filter(|n| {
            let Some(rest) = n.strip_prefix(app_dir) else {
                return false;
            };
            let parts: Vec<&str> = rest.split('/').collect();
            parts.len() <= (limits.max_depth as usize).saturating_mul(2)
                && parts.last() == Some(&"Info.plist")
                && parts.len() >= 3
                && {
                    let bundle = parts[parts.len() - 2];
                    let parent = parts[parts.len() - 3];
                    (bundle.ends_with(".appex") && matches!(parent, "PlugIns" | "Extensions"))
                        || (bundle.ends_with(".app") && parent == "Watch")
                }
        })
        .collect();
    if bundles.len() > MAX_EXTENSIONS {
        findings.push(Finding::warning(
            "ios.extension.too_many",
            format!(
                "{} extensions; only the first {MAX_EXTENSIONS} were read",
                bundles.len()
            ),
        ));
    }
    for plist_name in bundles.into_iter().take(MAX_EXTENSIONS) {
        let dir = plist_name.trim_end_matches("Info.plist");
        let rel = dir
            .strip_prefix(app_dir)
            .unwrap_or(dir)
            .trim_end_matches('/');
        let info = match read_member(zip, plist_name, limits.max_member_bytes)
            .map_err(|e| e.to_string())
            .and_then(|m| match m {
                Member::Data(d) => parse_info_plist(&d),
                Member::Missing => Err("missing".into()),
            }) {
            Ok(d) => d,
            Err(e) => {
                findings.push(Finding::error(
                    "ios.extension.malformed",
                    format!("extension {rel}: Info.plist does not parse: {e}"),
                ));
                continue;
            }
        };
        let id = get_str(&info, "CFBundleIdentifier").map(str::to_owned);
        let mut ext = json!({
            "path": rel,
            "identifier": id,
            "version": get_str(&info, "CFBundleShortVersionString"),
            "build": get_str(&info, "CFBundleVersion"),
            "extension_point": info.get("NSExtension").and_then(|v| v.as_dictionary()).and_then(|d| get_str(d, "NSExtensionPointIdentifier")),
            "profile": null,
        });
        if let (Some(id), Some(main)) = (&id, main_id)
            && !id.starts_with(&format!("{main}."))
        {
            findings.push(Finding::warning(
                "ios.extension.identifier_prefix",
                format!("extension {rel}: identifier {id} is not under the app's {main}"),
            ));
        }
        match read_member(
            zip,
            &format!("{dir}embedded.mobileprovision"),
            limits.max_structure_bytes,
        ) {
            Ok(Member::Data(d)) => {
                let p = profile::read(&d, ctx.now_unix);
                if let Some(prof) = &p.profile {
                    ext["profile"] = json!({
                        "name": prof.name, "uuid": prof.uuid, "team_id": prof.team_id,
                        "type": prof.profile_type, "expires": prof.expires,
                        "app_id": p.app_id, "signature": p.signature.state,
                    });
                    if p.expires.is_some_and(|e| e < ctx.now_unix) {
                        findings.push(Finding::error(
                            "ios.extension.profile_expired",
                            format!(
                                "extension {rel}: its profile {} expired {}",
                                prof.name, prof.expires
                            ),
                        ));
                    }
                    if let Some(t) = main_team
                        && prof.team_id != t
                    {
                        findings.push(Finding::error(
                            "ios.extension.team_mismatch",
                            format!(
                                "extension {rel}: its profile is of team {}, the app's of team {t}",
                                prof.team_id
                            ),
                        ));
                    }
                    if let (Some(app_id), Some(id)) = (&p.app_id, &id)
                        && !profile::app_id_matches(profile::strip_team(app_id), id)
                    {
                        findings.push(Finding::error(
                            "ios.extension.app_id_mismatch",
                            format!("extension {rel}: bundle id {id} is not covered by its profile's app id {app_id}"),
                        ));
                    }
                }
                for (code, msg) in &p.rejects {
                    findings.push(Finding::error(
                        code.replace("ios.profile.", "ios.extension.profile_"),
                        format!("extension {rel}: {msg}"),
                    ));
                }
            }
            Ok(Member::Missing) => findings.push(Finding::error(
                "ios.extension.profile_missing",
                format!("extension {rel} has no embedded.mobileprovision"),
            )),
            Err(e) => findings.push(Finding::error(
                "ios.extension.malformed",
                format!("extension {rel}: {e}"),
            )),
        }
        out.push(ext);
    }
    out
}

fn icon_names(info: &Dictionary) -> Vec<String> {
    let mut names = Vec::new();
    for key in ["CFBundleIcons", "CFBundleIcons~ipad"] {
        if let Some(primary) = info
            .get(key)
            .and_then(|v| v.as_dictionary())
            .and_then(|d| d.get("CFBundlePrimaryIcon"))
            .and_then(|v| v.as_dictionary())
        {
            if let Some(files) = primary.get("CFBundleIconFiles").and_then(|v| v.as_array()) {
                names.extend(
                    files
                        .iter()
                        .filter_map(|v| v.as_string().map(str::to_owned)),
                );
            }
            if let Some(n) = get_str(primary, "CFBundleIconName") {
                names.push(n.to_owned());
            }
        }
    }
    if let Some(files) = info.get("CFBundleIconFiles").and_then(|v| v.as_array()) {
        names.extend(
            files
                .iter()
                .filter_map(|v| v.as_string().map(str::to_owned)),
        );
    }
    if let Some(n) = get_str(info, "CFBundleIconFile") {
        names.push(n.to_owned());
    }
    names.retain(|n| !n.is_empty());
    names
}

fn icon(
    zip: &mut Archive<'_>,
    names: &[String],
    app_dir: &str,
    info: &Dictionary,
    limits: &Limits,
    findings: &mut Vec<Finding>,
) -> Option<Vec<u8>> {
    let wanted = icon_names(info);
    if wanted.is_empty() {
        return None;
    }
    let mut best: Option<(u64, String)> = None;
    for (idx, n) in names.iter().enumerate() {
        let Some(file) = n.strip_prefix(app_dir) else {
            continue;
        };
        if file.contains('/') || !file.to_ascii_lowercase().ends_with(".png") {
            continue;
        }
        let stem = file.trim_end_matches(".png").trim_end_matches(".PNG");
        if !wanted
            .iter()
            .any(|w| stem.starts_with(w.trim_end_matches(".png")))
        {
            continue;
        }
        let size = zip.index.entries.get(idx).map(|e| e.size).unwrap_or(0);
        if size == 0 || size > MAX_ICON_BYTES {
            continue;
        }
        if best.as_ref().is_none_or(|(s, _)| size > *s) {
            best = Some((size, n.clone()));
        }
    }
    let (_, name) = best?;
    let data = match read_member(zip, &name, MAX_ICON_BYTES) {
        Ok(Member::Data(d)) => d,
        _ => return None,
    };
    match cgbi::to_standard_png(&data, limits.max_member_bytes) {
        Ok(png) => Some(png),
        Err(e) => {
            findings.push(Finding::warning(
                "ios.icon.unreadable",
                format!("icon {name} could not be converted: {e}"),
            ));
            None
        }
    }
}
