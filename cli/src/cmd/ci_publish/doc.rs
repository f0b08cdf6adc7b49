//! What `dist ci publish` prints on stdout: the publish JSON (schema_version 1) and the dry
//! run's document, and the human summary on stderr.

use platform::api::ReleaseStatus;
use platform::{AppSlug, Build, ChannelName, FileName, Finding, Kind, PlatformId, Sha256, Version};
use serde::{Deserialize, Serialize};

use crate::exit::Failure;
use crate::ui::{self, Tone, Ui, human_size};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishDoc {
    pub schema_version: u32,
    pub app: AppSlug,
    /// Null only when local checks stopped the job before the server was asked.
    pub release: Option<ReleaseDoc>,
    pub artifacts: Vec<ArtifactDoc>,
    pub channel: Option<ChannelDoc>,
    /// Present when the job failed after this document could be built (blocked publish,
    /// refused promotion): what failed, while the rest says what stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDoc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseDoc {
    pub id: String,
    pub version: Version,
    pub build: Build,
    pub status: ReleaseStatus,
    /// False when the release already existed (a re-run).
    pub created: bool,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactDoc {
    pub id: Option<String>,
    pub platform: Option<PlatformId>,
    pub kind: Option<Kind>,
    pub file_name: Option<FileName>,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// False when the server already had the blob.
    pub uploaded: bool,
    pub download_url: Option<String>,
    pub install_url: Option<String>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDoc {
    pub name: ChannelName,
    pub release_id: String,
    pub previous_release_id: Option<String>,
    /// The channel's stable address to hand on: today the channel's API document (it
    /// follows the pointer); the channel page once the install pages serve it.
    pub share_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDoc {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

impl ErrorDoc {
    pub(super) fn of(f: &Failure) -> Self {
        Self {
            code: f.code.clone(),
            message: f.message.clone(),
            findings: f.findings.clone(),
        }
    }
}

/// What `--dry-run` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunDoc {
    pub schema_version: u32,
    pub dry_run: bool,
    pub app: AppSlug,
    pub version: Version,
    pub build: Build,
    /// The existing release for this version and build, if the token may see it.
    pub existing_release: Option<ExistingRelease>,
    pub artifacts: Vec<DryRunArtifact>,
    pub channel: Option<ChannelName>,
    /// What a real run would do, in order.
    pub actions: Vec<String>,
    /// What is already done and a real run would leave as it is.
    pub done: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExistingRelease {
    pub id: String,
    pub status: ReleaseStatus,
    /// True when its artifacts differ from the manifest's: a real run exits 5.
    pub conflict: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRunArtifact {
    pub platform: Option<PlatformId>,
    pub kind: Option<Kind>,
    pub file_name: Option<FileName>,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
    /// True when the server lacks the blob.
    pub upload: bool,
    pub findings: Vec<Finding>,
}

pub(super) fn print_doc<T: Serialize>(doc: &T) {
    if let Err(e) = ui::print_json(doc) {
        ui::note_line(&format!("cannot print the JSON document: {e}"));
    }
}

pub(super) fn summary(ui: &Ui, doc: &PublishDoc) {
    let Some(r) = &doc.release else { return };
    ui.note_lead(
        Tone::Bold,
        doc.app.as_str(),
        &format!("{} ({}) {} {}", r.version, r.build, r.id, r.url),
    );
    for a in &doc.artifacts {
        ui.note(&format!(
            "  {:<8} {:<10} {:<32} {:>10}  {}",
            a.platform.as_ref().map(|p| p.as_str()).unwrap_or("-"),
            a.kind.as_ref().map(|k| k.as_str()).unwrap_or("-"),
            a.file_name.as_ref().map(|f| f.as_str()).unwrap_or("(link)"),
            a.size.map(human_size).unwrap_or_default(),
            match (a.uploaded, &a.file_name) {
                (_, None) => "link",
                (true, _) => "uploaded",
                (false, _) => "already on the server",
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_document_has_the_contract_fields() {
        let doc = PublishDoc {
            schema_version: 1,
            app: "acme".parse().unwrap(),
            release: Some(ReleaseDoc {
                id: "rel_1".into(),
                version: "1.4.0".parse().unwrap(),
                build: "1234".parse().unwrap(),
                status: ReleaseStatus::Published,
                created: true,
                url: "https://d.example/api/v1/releases/rel_1".into(),
            }),
            artifacts: vec![ArtifactDoc {
                id: Some("art_1".into()),
                platform: Some("android".parse().unwrap()),
                kind: Some("apk".parse().unwrap()),
                file_name: Some("app.apk".parse().unwrap()),
                sha256: Some(Sha256::digest(b"x")),
                size: Some(123),
                uploaded: true,
                download_url: Some("https://d.example/api/v1/artifacts/art_1/download".into()),
                install_url: None,
                findings: vec![Finding::warning("android.x", "m")],
            }],
            channel: Some(ChannelDoc {
                name: "beta".parse().unwrap(),
                release_id: "rel_1".into(),
                previous_release_id: None,
                share_url: "https://d.example/apps/acme/channels/beta".into(),
            }),
            error: None,
        };
        let v = serde_json::to_value(&doc).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&v),
            ["app", "artifacts", "channel", "release", "schema_version"]
        );
        assert_eq!(
            keys(&v["release"]),
            ["build", "created", "id", "status", "url", "version"]
        );
        assert_eq!(
            keys(&v["artifacts"][0]),
            [
                "download_url",
                "file_name",
                "findings",
                "id",
                "install_url",
                "kind",
                "platform",
                "sha256",
                "size",
                "uploaded"
            ]
        );
        assert_eq!(
            keys(&v["channel"]),
            ["name", "previous_release_id", "release_id", "share_url"]
        );
        assert_eq!(v["release"]["status"], "published");
        assert_eq!(v["artifacts"][0]["sha256"], Sha256::digest(b"x").hex());
        assert!(v["artifacts"][0]["install_url"].is_null());
        assert!(v["channel"]["previous_release_id"].is_null());
        let back: PublishDoc = serde_json::from_value(v).unwrap();
        assert_eq!(back, doc);

        let mut blocked = doc;
        blocked.channel = None;
        blocked.error = Some(ErrorDoc {
            code: "forbidden".into(),
            message: "no".into(),
            findings: vec![],
        });
        let v = serde_json::to_value(&blocked).unwrap();
        assert!(v["channel"].is_null());
        assert_eq!(v["error"]["code"], "forbidden");
    }
}
