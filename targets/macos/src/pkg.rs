//! Installer packages (`.pkg`, a xar archive read by `formats/xar`): flat component package
//! (`PackageInfo`, `Bom`, `Payload` at the top) or product archive (`Distribution` and one
//! folder per component package), the Distribution's product, packages, minimum OS, host
//! architectures and choices, each component's PackageInfo, the Payload's compression
//! (told from its first bytes) and the apps in it (read as a stream by [`crate::payload`],
//! never extracted), the TOC checksum and every file's archived
//! checksum, the installer signature over the TOC checksum with its chain, and a stapled
//! notarization ticket.
//!
//! `details` schema (README, "Platform details", macOS): `pkg_type` (`product` or
//! `component`), `product` (`{id, version, title}`), `packages` (each `{id, version,
//! install_location, payload, payload_bytes, bundles, apps}`; `apps` as in
//! [`crate::payload`]), `choices`, `host_architectures`, `archs_source` (when the archs are
//! the payload apps'), `min_os_source`, `toc` (`{checksum, checksum_ok, files, files_checked}`),
//! `installer_signature` (`{style, signing, signer, chain, x_signature}`), `notarization`.

use std::io::Read;

use format_pki::Verdict;
use format_xar::{Data, Xar};
use platform::{Finding, InspectContext, Inspection, ReadSeek, Signature, SignatureState, Signer};
use serde_json::{Map, Value as Json, json};

use crate::code::Signing;
use crate::notarization::{self, Ticket};

/// How a component's Payload is stored, from its first decoded bytes.
fn payload_format(head: &[u8]) -> &'static str {
    if head.starts_with(&[0x1f, 0x8b]) {
        "gzip cpio"
    } else if head.starts_with(b"pbzx") {
        "pbzx"
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        "xz cpio"
    } else if head.starts_with(b"BZh") {
        "bzip2 cpio"
    } else if head.starts_with(b"070707") || head.starts_with(b"070701") {
        "cpio"
    } else {
        "unknown"
    }
}

/// What a component package's PackageInfo says.
fn package_info(xml: &str) -> Result<Json, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "pkg-info" {
        return Err(format!(
            "its root is <{}>, not <pkg-info>",
            root.tag_name().name()
        ));
    }
    let bundles: Vec<Json> = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "bundle" && n.has_attribute("path"))
        .take(64)
        .map(|b| {
            json!({
                "id": b.attribute("id"),
                "path": b.attribute("path"),
                "version": b.attribute("CFBundleShortVersionString"),
                "build": b.attribute("CFBundleVersion"),
            })
        })
        .collect();
    let payload = root
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == "payload");
    Ok(json!({
        "id": root.attribute("identifier"),
        "version": root.attribute("version"),
        "install_location": root.attribute("install-location"),
        "auth": root.attribute("auth"),
        "install_kbytes": payload.and_then(|p| p.attribute("installKBytes")),
        "number_of_files": payload.and_then(|p| p.attribute("numberOfFiles")),
        "bundles": bundles,
    }))
}

/// What a Distribution says.
struct Distribution {
    product: Option<(Option<String>, Option<String>)>,
    title: Option<String>,
    pkg_refs: Vec<(String, Option<String>, Option<String>)>,
    min_os: Option<String>,
    host_archs: Option<Vec<String>>,
    choices: Vec<Json>,
}

fn el<'a, 'i: 'a>(
    root: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    root.descendants()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn distribution(xml: &str) -> Result<Distribution, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "installer-gui-script"
        && root.tag_name().name() != "installer-script"
    {
        return Err(format!(
            "its root is <{}>, not <installer-gui-script>",
            root.tag_name().name()
        ));
    }
    let product = el(root, "product").next().map(|p| {
        (
            p.attribute("id").map(str::to_owned),
            p.attribute("version").map(str::to_owned),
        )
    });
    let title = el(root, "title")
        .next()
        .and_then(|t| t.text())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let mut pkg_refs: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for r in el(root, "pkg-ref").take(256) {
        let Some(id) = r.attribute("id") else {
            continue;
        };
        let version = r.attribute("version").map(str::to_owned);
        let path = r
            .text()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        match pkg_refs.iter_mut().find(|p| p.0 == id) {
            Some(p) => {
                if p.1.is_none() {
                    p.1 = version;
                }
                if p.2.is_none() {
                    p.2 = path;
                }
            }
            None => pkg_refs.push((id.to_owned(), version, path)),
        }
    }
    let min_os = el(root, "os-version")
        .filter_map(|o| o.attribute("min"))
        .next()
        .map(str::to_owned);
    let host_archs = el(root, "options")
        .filter_map(|o| o.attribute("hostArchitectures"))
        .next()
        .map(|a| {
            a.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        });
    let choices = el(root, "choice")
        .take(256)
        .map(|c| json!({"id": c.attribute("id"), "title": c.attribute("title")}))
        .collect();
    Ok(Distribution {
        product,
        title,
        pkg_refs,
        min_os,
        host_archs,
        choices,
    })
}

fn signing_of_installer(subject: &str) -> Signing {
    let cn = crate::code::common_name(subject);
    if cn.starts_with("Developer ID Installer:") {
        Signing::DeveloperId
    } else if cn.starts_with("3rd Party Mac Developer Installer:")
        || cn.starts_with("Mac Installer Distribution:")
    {
        Signing::AppStore
    } else {
        Signing::OtherCertificate
    }
}

fn signing_id(s: Signing) -> &'static str {
    match s {
        Signing::DeveloperId => "developer-id-installer",
        Signing::AppStore => "mac-installer-distribution",
        Signing::Unsigned => "unsigned",
        _ => "other-certificate",
    }
}

/// The verdict for a xar signature that cannot be checked at all.
fn invalid_xar_signature() -> Signature {
    Signature {
        state: SignatureState::Invalid,
        schemes: vec!["xar".into()],
        signers: Vec::new(),
        digest_ok: Some(false),
        chain_ok: None,
        timestamp: None,
    }
}

/// Reads a pkg into `i` (a fresh, unsigned Inspection).
pub fn read(r: &mut dyn ReadSeek, ctx: &InspectContext, i: &mut Inspection) {
    let limits = &ctx.limits;
    let xl = format_xar::Limits {
        max_structure_bytes: limits.max_structure_bytes,
        max_files: limits.max_entries,
    };
    let x = match format_xar::open(r, ctx.size, &xl) {
        Ok(x) => x,
        Err(format_xar::Error::Limit(m)) => {
            i.reject("macos.pkg.limit", m);
            return;
        }
        Err(format_xar::Error::Io(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
            i.reject(
                "macos.pkg.malformed",
                format!("reading the package failed: {e}"),
            );
            return;
        }
        Err(e) => {
            i.reject(
                "macos.pkg.malformed",
                format!("the package does not read as a xar archive: {e}; build it again with pkgbuild or productbuild"),
            );
            return;
        }
    };
    let mut details = Map::new();
    let mut problems: Vec<String> = Vec::new();

    // The TOC checksum, then every file's archived checksum: together they cover every byte
    // the signature vouches for.
    let checksum = match x.toc_checksum(r) {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("the TOC checksum cannot be read: {e}"));
            None
        }
    };
    if let Some(c) = &checksum
        && !c.matches
    {
        problems.push("the table of contents does not match its checksum".into());
    }
    let mut files_checked = 0usize;
    let mut hashed = 0u64;
    for f in &x.files {
        let Some(d) = &f.data else { continue };
        let left = limits.max_streamed_bytes.saturating_sub(hashed);
        match x.archived_checksum_ok(r, d, left) {
            Ok(Some(true)) => files_checked += 1,
            Ok(Some(false)) => problems.push(format!(
                "{} was changed after the package was built",
                f.path
            )),
            Ok(None) => {}
            Err(e) => problems.push(format!("{}: {e}", f.path)),
        }
        hashed = hashed.saturating_add(d.length);
    }
    details.insert(
        "toc".into(),
        json!({
            "checksum": checksum.as_ref().map(|c| c.style.clone()),
            "checksum_ok": checksum.as_ref().map(|c| c.matches),
            "files": x.files.len(),
            "files_checked": files_checked,
            "created": x.creation_time,
        }),
    );

    // Flat component package or product archive.
    let read_text = |r: &mut dyn ReadSeek, d: &Data| -> Result<String, String> {
        let b = x
            .read_data(r, d, limits.max_member_bytes, &ctx.budget)
            .map_err(|e| e.to_string())?;
        String::from_utf8(b).map_err(|_| "not UTF-8 text".to_owned())
    };
    let dist = x.file("Distribution").and_then(|f| f.data.clone());
    let is_product = dist.is_some();
    details.insert(
        "pkg_type".into(),
        json!(if is_product { "product" } else { "component" }),
    );
    let component_dirs: Vec<String> = if is_product {
        x.files
            .iter()
            .filter(|f| !f.path.contains('/') && f.path.ends_with(".pkg"))
            .map(|f| format!("{}/", f.path))
            .collect()
    } else {
        vec![String::new()]
    };
    let mut packages = Vec::new();
    // The architectures of the apps inside the payloads: the package's where the
    // Distribution names none.
    let mut payload_archs: Vec<String> = Vec::new();
    for dir in &component_dirs {
        let mut p = match x
            .file(&format!("{dir}PackageInfo"))
            .and_then(|f| f.data.clone())
        {
            None => {
                if !is_product {
                    i.reject(
                        "macos.pkg.no_package_info",
                        "neither a Distribution nor a PackageInfo: this is not an installer package",
                    );
                    i.details = details;
                    return;
                }
                json!({"path": dir.trim_end_matches('/')})
            }
            Some(d) => match read_text(r, &d).and_then(|t| package_info(&t)) {
                Ok(v) => v,
                Err(e) => {
                    i.findings.push(Finding::error(
                        "macos.pkg.malformed",
                        format!("{dir}PackageInfo does not read: {e}"),
                    ));
                    json!({"path": dir.trim_end_matches('/')})
                }
            },
        };
        p["path"] = json!(dir.trim_end_matches('/'));
        if let Some(d) = x
            .file(&format!("{dir}Payload"))
            .and_then(|f| f.data.clone())
        {
            p["payload_bytes"] = json!(d.size);
            let opened = match x.open_data(r, &d, limits.max_streamed_bytes, &ctx.budget) {
                Ok(mut rd) => {
                    let mut head = [0u8; 16];
                    let mut n = 0;
                    while n < head.len() {
                        match rd.read(&mut head[n..]) {
                            Ok(0) => break,
                            Ok(k) => n += k,
                            Err(_) => break,
                        }
                    }
                    p["payload"] = json!(payload_format(&head[..n]));
                    true
                }
                Err(e) => {
                    p["payload"] = json!(null);
                    i.findings.push(Finding::error(
                        "macos.pkg.malformed",
                        format!("{dir}Payload cannot be read: {e}"),
                    ));
                    false
                }
            };
            if opened {
                for a in crate::payload::read_apps(&x, r, &d, dir, &mut p, ctx, i) {
                    if !payload_archs.contains(&a) {
                        payload_archs.push(a);
                    }
                }
            }
        } else {
            p["payload"] = json!(null);
        }
        packages.push(p);
    }

    if let Some(d) = &dist {
        match read_text(r, d).and_then(|t| distribution(&t)) {
            Err(e) => i.reject(
                "macos.pkg.malformed",
                format!("the Distribution does not read: {e}"),
            ),
            Ok(ds) => {
                let first = ds.pkg_refs.first().cloned();
                match &ds.product {
                    Some((Some(id), v)) => {
                        i.identity = Some(id.clone());
                        i.version = v.clone();
                        details
                            .insert("identity_source".into(), json!("Distribution <product id>"));
                    }
                    _ => {
                        if let Some((id, v, _)) = &first {
                            i.identity = Some(id.clone());
                            i.version = v.clone();
                            details.insert(
                                "identity_source".into(),
                                json!("the Distribution's first <pkg-ref> (it names no <product>)"),
                            );
                        }
                    }
                }
                i.display_name = ds.title.clone();
                i.min_os = ds.min_os.clone();
                if ds.min_os.is_some() {
                    details.insert(
                        "min_os_source".into(),
                        json!("Distribution <allowed-os-versions><os-version min>"),
                    );
                }
                i.archs = ds.host_archs.clone();
                details.insert(
                    "product".into(),
                    json!({
                        "id": ds.product.as_ref().and_then(|p| p.0.clone()),
                        "version": ds.product.as_ref().and_then(|p| p.1.clone()),
                        "title": ds.title,
                    }),
                );
                details.insert("host_architectures".into(), json!(ds.host_archs));
                details.insert("choices".into(), json!(ds.choices));
                details.insert(
                    "pkg_refs".into(),
                    json!(
                        ds.pkg_refs
                            .iter()
                            .map(|(id, v, path)| json!({"id": id, "version": v, "path": path}))
                            .collect::<Vec<_>>()
                    ),
                );
                if let Some(a) = &ds.host_archs
                    && !a.iter().any(|a| a.starts_with("arm64"))
                {
                    i.findings.push(Finding::info(
                        "macos.build.no_apple_silicon",
                        format!("the package allows only {} hosts: on Apple silicon Macs the installer asks for Rosetta 2", a.join(", ")),
                    ));
                }
            }
        }
    } else if let Some(p) = packages.first() {
        i.identity = p["id"].as_str().map(str::to_owned);
        i.version = p["version"].as_str().map(str::to_owned);
        details.insert("identity_source".into(), json!("PackageInfo identifier"));
    }
    if i.archs.is_none() && !payload_archs.is_empty() {
        i.archs = Some(payload_archs);
        details.insert(
            "archs_source".into(),
            json!("the main executables of the apps in the Payload"),
        );
    }
    if i.identity.is_none() && i.parse == platform::Parse::Ok {
        i.reject(
            "macos.pkg.no_identifier",
            "the package names no identifier (no Distribution <product id> or <pkg-ref>, no PackageInfo identifier)",
        );
    }
    // The build: CFBundleVersion of the bundle the package installs under its identity,
    // else of the first bundle that has one (PackageInfo <bundle>).
    if i.build.is_none() {
        let bundles = packages
            .iter()
            .filter_map(|p| p["bundles"].as_array())
            .flatten();
        let pick = bundles
            .clone()
            .find(|b| b["id"].as_str() == i.identity.as_deref() && b["build"].is_string())
            .or_else(|| bundles.clone().find(|b| b["build"].is_string()));
        if let Some(b) = pick {
            i.build = b["build"].as_str().map(str::to_owned);
            details.insert(
                "build_source".into(),
                json!(format!(
                    "PackageInfo <bundle> CFBundleVersion of {}",
                    b["path"].as_str().unwrap_or("?")
                )),
            );
        }
    }
    details.insert("packages".into(), json!(packages));

    // The installer signature.
    let mut signing = Signing::Unsigned;
    match (&x.signature, &checksum) {
        (None, _) => {
            i.signature = Signature::unsigned();
            i.findings.push(Finding::warning(
                "macos.pkg.unsigned",
                "the package is not signed: Gatekeeper blocks it on first open and it cannot be notarized; sign it with `productsign --sign \"Developer ID Installer: ...\"`",
            ));
        }
        (Some(_), None) => {
            problems.push("the signature has no TOC checksum to cover".into());
            i.signature = invalid_xar_signature();
        }
        (Some(_), Some(ck)) => match x.check_signature(r, ck) {
            Err(e) => {
                problems.push(format!("the signature cannot be read: {e}"));
                i.signature = invalid_xar_signature();
            }
            Ok(None) => {}
            Ok(Some(sc)) => {
                let leaf = sc.certificates.first();
                let pool: Vec<&format_pki::Certificate> = sc.certificates.iter().collect();
                let chain_ok = leaf
                    .map(|l| format_apple::roots::chains_to_apple_root(l, &pool).trusted)
                    .unwrap_or(false);
                let subject = leaf.map(format_apple::roots::subject_string);
                signing = subject
                    .as_deref()
                    .map(signing_of_installer)
                    .unwrap_or(Signing::OtherCertificate);
                let sig_ok = sc.verdict == Verdict::Valid;
                if !sig_ok {
                    problems.push(match &sc.verdict {
                        Verdict::Unsupported(w) => format!("the signature cannot be checked: {w}"),
                        _ => "the signature over the TOC checksum does not verify".into(),
                    });
                }
                let digest_ok = problems.is_empty();
                let state = if !digest_ok || !sig_ok {
                    SignatureState::Invalid
                } else if !chain_ok {
                    SignatureState::Untrusted
                } else {
                    SignatureState::Signed
                };
                i.signature = Signature {
                    state,
                    schemes: vec!["xar".into()],
                    signers: leaf
                        .map(|l| {
                            vec![Signer {
                                subject: format_apple::roots::subject_string(l),
                                sha256: l.sha256.clone(),
                            }]
                        })
                        .unwrap_or_default(),
                    digest_ok: Some(digest_ok),
                    chain_ok: Some(chain_ok),
                    timestamp: None,
                };
                // The identity fact a team rule reads: only a signature that verifies to
                // Apple's root vouches for its team (the OU of Apple's installer certificates).
                if state == SignatureState::Signed
                    && let Some(team) = leaf.and_then(format_apple::roots::subject_ou)
                {
                    details.insert("team_id".into(), json!(team));
                }
                let x_sig = x_signature(&x, r, ck);
                if let Some(Err(e)) = &x_sig {
                    i.findings.push(Finding::warning(
                        "macos.pkg.x_signature_invalid",
                        format!("the package's CMS signature (x-signature) does not verify: {e}"),
                    ));
                }
                details.insert(
                    "installer_signature".into(),
                    json!({
                        "style": sc.style,
                        "signing": signing_id(signing),
                        "signer": subject,
                        "certificates": sc.certificates.iter().map(|c| json!({
                            "subject": format_apple::roots::subject_string(c), "sha256": c.sha256,
                        })).collect::<Vec<_>>(),
                        "chain_to_apple_root": chain_ok,
                        "x_signature": match &x_sig {
                            None => json!(null),
                            Some(Ok(())) => json!("verified"),
                            Some(Err(e)) => json!(format!("does not verify: {e}")),
                        },
                    }),
                );
                if state != SignatureState::Invalid {
                    if !chain_ok {
                        i.findings.push(Finding::error(
                            "macos.pkg.signature_untrusted",
                            format!("the package is signed by {}, whose certificate does not chain to the Apple Root CA: Gatekeeper treats it as unsigned", subject.as_deref().unwrap_or("an unknown signer")),
                        ));
                    } else if signing != Signing::DeveloperId {
                        i.findings.push(Finding::warning(
                            "macos.pkg.not_developer_id",
                            format!("the package is signed by {}, not a Developer ID Installer certificate: outside the App Store Gatekeeper blocks it", subject.as_deref().unwrap_or("an unknown signer")),
                        ));
                    }
                }
            }
        },
    }
    if !problems.is_empty() {
        if x.signature.is_some() {
            i.signature.state = SignatureState::Invalid;
            i.signature.digest_ok = Some(false);
        }
        i.findings.push(Finding::error(
            "macos.pkg.signature_invalid",
            format!(
                "the package does not match its checksums or signature: {}; Installer refuses it as damaged",
                problems.join("; ")
            ),
        ));
    }

    let ticket = match format_xar::stapled_ticket(r, ctx.size) {
        Ok(Some((_, len))) => Ticket::Present {
            bytes: len as usize,
        },
        Ok(None) => Ticket::Absent,
        Err(e) => Ticket::Unreadable(e.to_string()),
    };
    let status = notarization::status(
        notarization::verified_signing(signing, i.signature.state),
        &ticket,
    );
    i.findings
        .extend(notarization::findings(status, &ticket, "the package"));
    details.insert(
        "notarization".into(),
        notarization::details(status, &ticket, "a t8lr trailer after the xar archive"),
    );
    if ctx.budget.exhausted() {
        crate::reject_at_limit(i, "macos.pkg.limit", "the decompression budget is spent");
    }
    i.details = details;
}

/// The CMS `x-signature` over the TOC checksum, when there is one.
fn x_signature(
    x: &Xar,
    r: &mut dyn ReadSeek,
    ck: &format_xar::TocChecksum,
) -> Option<Result<(), String>> {
    let s = x.x_signature.as_ref()?;
    if s.size > 1 << 20 {
        return Some(Err(format!("{} bytes", s.size)));
    }
    let at = x.heap_start.checked_add(s.offset)?;
    if at.checked_add(s.size)? > x.file_size {
        return Some(Err("it runs past the end of the file".into()));
    }
    let cms = match format_xar::read_at(r, at, s.size as u32) {
        Ok(b) => b,
        Err(e) => return Some(Err(e.to_string())),
    };
    let sd = match format_pki::SignedData::parse(&cms) {
        Ok(sd) => sd,
        Err(e) => return Some(Err(format!("CMS does not parse: {e}"))),
    };
    if sd.signers.is_empty() {
        return Some(Err("the CMS has no signers".into()));
    }
    // Detached over the TOC checksum; with or without signed attributes (RFC 5652 5.4).
    for s in &sd.signers {
        let Some(cert) = sd.signer_certificate(s) else {
            return Some(Err("the signer's certificate is not in the CMS".into()));
        };
        match s.verify(cert, &ck.stored) {
            Verdict::Valid => {}
            Verdict::Invalid => {
                return Some(Err(
                    "the signature over the TOC checksum does not verify".into()
                ));
            }
            Verdict::Unsupported(w) => return Some(Err(w)),
        }
    }
    Some(Ok(()))
}
