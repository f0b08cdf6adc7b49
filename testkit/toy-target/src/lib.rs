//! A toy target for tests: the smallest real plugin, used to show that a new platform needs
//! its crate plus one line in `targets-all` and nothing else (no edit to `distd`, `dist`,
//! `platform` or the database). `targets-all` links it only under its `toy` feature, which
//! only test builds turn on; release binaries never carry it.
//!
//! A toy file is text: the line `DIST-TOY 1`, then `key: value` lines (`identity`,
//! `version`, `build`). A second kind, `toybox` (first line `DIST-TOYBOX 1`), lets tests
//! hold two kinds of one platform in a release; the target prefers `toy`. Its channel
//! document `latest` lists what a channel points at, to test documents that follow a channel. It follows the rules every target follows: it reads at most
//! [`MAX_BYTES`], never panics on bad input, and refuses a malformed file with a finding.
//! Like every target it depends on `platform` (and may depend on `formats/*`), never on
//! another target.

use std::io::Read;

use platform::channel::ChannelContext;
use platform::{
    Client, Detection, Document, Finding, InspectContext, InspectError, Inspected, Inspection,
    InstallAction, KindInfo, Links, Probe, ReadSeek, Target,
};

/// The first line of every toy file.
pub const MAGIC: &[u8] = b"DIST-TOY 1\n";
/// The first line of a toybox file, the second kind.
pub const BOX_MAGIC: &[u8] = b"DIST-TOYBOX 1\n";
/// Largest toy file read.
pub const MAX_BYTES: u64 = 64 * 1024;

pub struct ToyTarget;

inventory::submit!(platform::TargetRegistration(&ToyTarget));

const KINDS: &[KindInfo] = &[
    KindInfo {
        kind: "toy",
        description: "Toy artifact (test-only platform)",
        publishable: true,
    },
    KindInfo {
        kind: "toybox",
        description: "Toy box (a second toy kind)",
        publishable: true,
    },
];

/// A toy file with these fields, as the tests write one.
pub fn file(identity: &str, version: &str, build: &str) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend(format!("identity: {identity}\nversion: {version}\nbuild: {build}\n").bytes());
    out
}

/// A toybox file with these fields.
pub fn toybox(identity: &str, version: &str, build: &str) -> Vec<u8> {
    let mut out = BOX_MAGIC.to_vec();
    out.extend_from_slice(&file(identity, version, build)[MAGIC.len()..]);
    out
}

impl Target for ToyTarget {
    /// The toy stands in for a desktop platform on pages (tests of device fit): a Mac's.
    fn device_os(&self) -> Option<platform::DeviceOs> {
        Some(platform::DeviceOs::Mac)
    }

    fn id(&self) -> &'static str {
        "toy"
    }

    fn display_name(&self) -> &'static str {
        "Toy"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    fn preferred_kinds(&self) -> &'static [&'static str] {
        &["toy"]
    }

    fn detect(&self, probe: &Probe) -> Option<Detection> {
        if probe.head.starts_with(MAGIC) {
            Some(Detection::new("toy", 100))
        } else if probe.head.starts_with(BOX_MAGIC) {
            Some(Detection::new("toybox", 100))
        } else {
            None
        }
    }

    fn inspect(
        &self,
        input: &mut dyn ReadSeek,
        kind: &platform::Kind,
        ctx: &InspectContext,
    ) -> Result<Inspected, InspectError> {
        let mut i = Inspection::new(
            &ctx.file_name,
            ctx.size,
            "toy".parse().expect("literal platform id"),
            kind.clone(),
        );
        let mut data = Vec::new();
        input
            .take(MAX_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|source| InspectError::Io {
                file: ctx.file_name.clone(),
                source,
            })?;
        if data.len() as u64 > MAX_BYTES {
            i.reject(
                "toy.too_large",
                format!("more than {MAX_BYTES} bytes; a toy file is a few lines"),
            );
            return Ok(i.into());
        }
        let magic = if kind.as_str() == "toybox" {
            BOX_MAGIC
        } else {
            MAGIC
        };
        let Some(body) = data.strip_prefix(magic) else {
            i.reject(
                "toy.malformed",
                format!(
                    "the file does not start with {}",
                    String::from_utf8_lossy(magic).trim_end()
                ),
            );
            return Ok(i.into());
        };
        for line in String::from_utf8_lossy(body).lines() {
            match line.split_once(": ") {
                Some(("identity", v)) => i.identity = Some(v.to_owned()),
                Some(("version", v)) => i.version = Some(v.to_owned()),
                Some(("build", v)) => i.build = Some(v.to_owned()),
                _ => i.findings.push(Finding::warning(
                    "toy.unknown_line",
                    format!("line {line:?} is not a known key"),
                )),
            }
        }
        if i.identity.is_none() {
            i.reject("toy.malformed", "no identity line");
        }
        Ok(i.into())
    }

    fn install_actions(
        &self,
        _artifact: &platform::ArtifactView<'_>,
        links: &Links,
        _client: &Client,
    ) -> Vec<InstallAction> {
        let mut dl = InstallAction::download(links, "Download toy file");
        dl.primary = true;
        vec![dl]
    }

    /// `latest`: the release a channel points at and the channel URL of each file, one
    /// `key: value` line each, so a test sees the document follow the channel.
    fn channel_document(&self, ctx: &ChannelContext<'_>) -> Option<Document> {
        if ctx.name != "latest" {
            return None;
        }
        let mut body = format!(
            "app: {}\nchannel: {}\nrelease: {}\nversion: {}\nbuild: {}\n",
            ctx.app, ctx.channel, ctx.release_id, ctx.version, ctx.build
        );
        for a in &ctx.artifacts {
            body.push_str(&format!(
                "file: {} {} {}\n",
                a.inspection.kind, a.sha256, a.url
            ));
        }
        Some(Document {
            content_type: "text/plain; charset=utf-8",
            body: body.into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::Limits;

    fn inspect(data: &[u8]) -> Inspection {
        let ctx = InspectContext::new("a.toy", data.len() as u64, Limits::default(), 0);
        ToyTarget
            .inspect(
                &mut std::io::Cursor::new(data),
                &"toy".parse().unwrap(),
                &ctx,
            )
            .unwrap()
            .inspection
    }

    #[test]
    fn reads_its_fields_and_refuses_garbage() {
        let i = inspect(&file("com.example.toy", "1.2", "7"));
        assert_eq!(i.identity.as_deref(), Some("com.example.toy"));
        assert_eq!(i.build.as_deref(), Some("7"));
        assert!(i.findings.is_empty(), "{:?}", i.findings);
        let bad = inspect(b"DIST-TOY 1\nversion: 1\n");
        assert!(bad.findings.iter().any(|f| f.code == "toy.malformed"));
    }
}
