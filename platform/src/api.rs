//! JSON bodies of the HTTP API v1, shared by `distd` (which serves them) and `dist` (which
//! reads them). Every route lives under `/api/v1`; auth is `Authorization: Bearer <token>`.
//!
//! | method and path | scope | body -> answer |
//! |---|---|---|
//! | `GET /healthz` (no prefix, no auth) | - | -> [`Health`] |
//! | `GET /token` | any | -> [`WhoAmI`] |
//! | `POST /tokens` | admin | [`TokenCreate`] -> 201 [`TokenCreated`] |
//! | `GET /tokens?limit=&cursor=` | admin | -> [`TokenList`] (a page) |
//! | `POST /tokens/{id}/revoke` | admin | -> [`TokenInfo`] |
//! | `POST /apps` | admin | [`AppCreate`] -> 201 [`App`] (409 if the slug exists) |
//! | `GET /apps`, `GET /apps/{app}` | read | -> [`AppList`], [`App`] |
//! | `PUT /apps/{app}/identity` | admin | [`IdentityRules`] -> [`App`] |
//! | `POST /apps/{app}/releases` | publish | [`ReleaseCreate`] -> 201 or 200 [`ReleaseCreated`] (409 on other digests) |
//! | `GET /apps/{app}/releases?limit=&cursor=&status=&version=&platform=&since=` | read | -> [`ReleaseList`] (newest first, a page) |
//! | `GET /releases/{id}` | read | -> [`Release`] |
//! | `GET /releases/{id}/diff/{other}` | read | -> [`crate::diff::ReleaseDiff`] (both of one app) |
//! | `POST /releases/{id}/publish` | publish | -> [`PublishResult`] (422 with findings when blocked) |
//! | `POST /releases/{id}/revoke` | admin | [`RevokeRequest`] -> [`Release`] |
//! | `DELETE /releases/{id}` | publish | -> 204 (drafts only; 409 otherwise) |
//! | `HEAD /blobs/sha256/{hex}` | publish | 200 + Content-Length, or 404 (+ `Upload-Offset` if a partial upload is held) |
//! | `PUT /blobs/sha256/{hex}` | publish | streamed bytes -> 201 [`BlobInfo`] new, 200 present, 400 mismatch |
//! | `POST /artifacts/{id}/attach` | publish | -> [`Artifact`] with its inspection |
//! | `GET /artifacts/{id}` | read | -> [`Artifact`] |
//! | `GET /artifacts/{id}/download` | download | bytes, Range, Content-Disposition |
//! | `GET /apps/{app}/channels`, `.../channels/{name}` | read | -> [`ChannelList`], [`Channel`] |
//! | `POST /apps/{app}/channels/{name}/promote` | promote | [`PromoteRequest`] -> [`ChannelMove`] |
//! | `POST /apps/{app}/channels/{name}/rollback` | promote | -> [`ChannelMove`] |
//! | `GET /apps/{app}/channels/{name}/history?limit=&cursor=` | read | -> [`ChannelHistory`] (a page) |
//! | `PUT /apps/{app}/channels/{name}/policy` | admin | [`ChannelPolicy`] -> [`Channel`] (creates the channel without a release if needed) |
//! | `GET /audit?action=&app=&actor=&after=&limit=&cursor=` | admin | -> [`AuditList`] (a page) |
//! | `GET /audit/verify` | admin | -> [`AuditVerify`] |
//! | `GET /d/{app}/{channel}/{platform}[/{arch}]` (no prefix) | download | the artifact bytes |
//!
//! Both download routes send the artifact's digest in an `X-Dist-Sha256` header
//! ([`SHA256_HEADER`]) so clients verify what they saved.
//!
//! Resumable uploads: a `PUT` carries `Upload-Length: <total>`; to resume, send
//! `Upload-Offset: <n>` where n is the offset `HEAD` reported, and the remaining bytes. A
//! wrong offset is a 409 whose `Upload-Offset` header says the right one.
//!
//! Lists page by cursor: `limit` and `cursor` in, `next_cursor` (null on the last page) and a
//! `Link: <...>; rel="next"` header out.
//!
//! Errors are `{"error":{"code":"...","message":"..."}}` ([`ErrorBody`]), with the codes in
//! [`ErrorCode`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::identity::IdentityRules;
use crate::manifest::Source;
use crate::{
    AppSlug, Arch, ArtifactId, Build, ChannelName, FileName, Finding, Inspection, InstallMode,
    Kind, PlatformId, ReleaseId, Sha256, TokenId, Version,
};

pub const API_PREFIX: &str = "/api/v1";
/// Header naming the total size of a blob upload.
pub const UPLOAD_LENGTH: &str = "upload-length";
/// Header naming where a resumed upload continues, and where the server's copy ends.
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// Response header carrying a downloaded artifact's SHA-256 (lowercase hex).
pub const SHA256_HEADER: &str = "x-dist-sha256";
/// Prefix of every token secret.
pub const TOKEN_PREFIX: &str = "dist_";

/// Stable error codes; the HTTP status follows from the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: malformed JSON, unknown field, bad header.
    BadRequest,
    /// 400: the uploaded bytes do not hash to the digest in the URL.
    DigestMismatch,
    /// 400: the uploaded byte count is not the declared size.
    SizeMismatch,
    /// 401: no token, unknown, expired or revoked token.
    Unauthorized,
    /// 403: the token lacks the scope, app or channel.
    Forbidden,
    /// 404
    NotFound,
    /// 405: the path exists, the method does not (the `Allow` header lists the ones that do).
    MethodNotAllowed,
    /// 409: exists with other content, not a draft, wrong upload offset.
    Conflict,
    /// 413
    PayloadTooLarge,
    /// 422: well-formed but refused: error findings, a file no target recognises.
    ValidationFailed,
    /// 408: an upload sent nothing for the stall timeout; the bytes so far are kept.
    UploadStalled,
    /// 500
    Internal,
    /// 503: shutting down, read-only, a stored file missing, busy.
    Unavailable,
    /// 507: the server's disk is full.
    InsufficientStorage,
}

impl ErrorCode {
    /// The code as it appears in JSON (`not_found`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::DigestMismatch => "digest_mismatch",
            Self::SizeMismatch => "size_mismatch",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ValidationFailed => "validation_failed",
            Self::UploadStalled => "upload_stalled",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::InsufficientStorage => "insufficient_storage",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest | Self::DigestMismatch | Self::SizeMismatch => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::ValidationFailed => 422,
            Self::UploadStalled => 408,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::InsufficientStorage => 507,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// Findings that blocked a publish, when that is the error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
    pub platforms: Vec<String>,
    /// Re-inspection of stored artifacts (`distd reinspect`, and the background run after an
    /// inspector change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reinspect: Option<ReinspectHealth>,
    /// Why the server refuses every change (the audit chain does not match its head anchor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<String>,
    /// Space on the data folder's file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskHealth>,
    /// Stored files found missing when a download asked for them since start (`distd fsck`
    /// lists them all).
    #[serde(default)]
    pub missing_blobs: u64,
    /// What makes `status` say `degraded` (the server answers, but something needs an admin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiskHealth {
    pub free_bytes: u64,
    pub total_bytes: u64,
    /// Below this, `status` says `degraded` (`DIST_MIN_FREE_BYTES`).
    pub min_free_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReinspectHealth {
    /// The inspector version of this server ([`crate::INSPECTOR_VERSION`]).
    pub inspector_version: u32,
    /// A background re-inspection is under way.
    pub running: bool,
    /// The last finished run over every artifact, if any.
    pub last_run: Option<ReinspectRun>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReinspectRun {
    pub inspector_version: u32,
    pub finished_at: String,
    /// `command` (distd reinspect) or `startup` (the background run).
    pub trigger: String,
    pub checked: u64,
    pub changed: u64,
    /// Published releases whose verdict got worse.
    pub worse_published: u64,
    pub failed: u64,
}

// ---- tokens ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Everything, tokens and identity rules included.
    Admin,
    /// Create drafts, upload blobs, attach artifacts, publish, delete drafts.
    Publish,
    /// Move channels (optionally only the token's channels).
    Promote,
    /// List and show apps, releases, channels.
    Read,
    /// Download artifacts.
    Download,
    /// Create the one app the token is limited to (a CI token for an app that does not exist
    /// yet). Only valid on an app-limited token.
    CreateApp,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Self::Admin,
        Self::Publish,
        Self::Promote,
        Self::Read,
        Self::Download,
        Self::CreateApp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Publish => "publish",
            Self::Promote => "promote",
            Self::Read => "read",
            Self::Download => "download",
            Self::CreateApp => "create-app",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!("unknown scope {s:?}; scopes are admin, publish, promote, read, download, create-app")
            })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    /// 1 to 100 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Limit the token to one app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSlug>,
    /// Limit promote rights to these channels (empty: any channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelName>,
    /// RFC 3339 expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: TokenId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub app: Option<AppSlug>,
    pub channels: Vec<ChannelName>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    /// `tok_...:name` of the token that created it (`system` for the bootstrap token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenCreated {
    pub schema_version: u32,
    pub token: TokenInfo,
    /// Shown once; the server keeps only its SHA-256.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenList {
    pub schema_version: u32,
    pub tokens: Vec<TokenInfo>,
    /// Where the next page starts (`?cursor=`); `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoAmI {
    pub schema_version: u32,
    pub token: TokenInfo,
}

// ---- apps ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppCreate {
    pub slug: AppSlug,
    /// 1 to 200 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub name: String,
    /// Platforms this app ships; empty means any linked platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformId>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, crate::identity::PlatformRules>))]
    pub identity: IdentityRules,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct App {
    pub slug: AppSlug,
    pub name: String,
    pub platforms: Vec<PlatformId>,
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, crate::identity::PlatformRules>))]
    pub identity: IdentityRules,
    pub created_at: String,
    /// Who may open the app's pages without a credential.
    #[serde(default)]
    pub access: Access,
    /// Whether a file whose declared version or build differs from its release's is a
    /// warning or an error that blocks the publish.
    #[serde(default)]
    pub version_mismatch: crate::versions::MismatchPolicy,
}

/// Page access of an app or a channel: `token` (the default) needs a download link, a page
/// session or an admin session; `public` needs nothing. A published release is public when its
/// app is public or when a public channel points, or pointed, at it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Public,
    #[default]
    Token,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Token => "token",
        }
    }
}

impl std::str::FromStr for Access {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "public" => Ok(Self::Public),
            "token" => Ok(Self::Token),
            _ => Err(format!("unknown access {s:?}; use public or token")),
        }
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `PUT /apps/{app}/access` and `PUT /apps/{app}/channels/{name}/access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    pub access: Access,
}

/// `PUT /apps/{app}/settings`: each field present is changed; absent ones stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_mismatch: Option<crate::versions::MismatchPolicy>,
}

/// `POST /apps/{app}/keys`: a public key the platform's target verifies signatures with
/// (in the form its packages are signed with, e.g. an ASCII-armored OpenPGP public key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AppKeyAdd {
    pub platform: crate::PlatformId,
    /// The key's text, at most 64 KiB.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 65536))]
    pub key: String,
}

/// The most bytes `AppKeyAdd::key` may hold.
pub const MAX_APP_KEY_BYTES: usize = 64 * 1024;

/// One key an admin added to an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppKey {
    pub platform: crate::PlatformId,
    /// Lowercase hex, as the platform's target reads it (OpenPGP v4: 40 digits).
    pub fingerprint: String,
    /// Who the key says it is (its first user id); may be empty.
    pub label: String,
    /// What an app's `signer_sha256` identity rule lists to pin signatures by this key
    /// ([`crate::Target::key_pin`]); absent when the platform pins keys no such way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_sha256: Option<String>,
    pub added_at: String,
    /// The actor (`token:tok_...`) that added it.
    pub added_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppKeyList {
    pub schema_version: u32,
    pub keys: Vec<AppKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppList {
    pub schema_version: u32,
    pub apps: Vec<App>,
}

// ---- platforms ----

/// `GET /platforms`: what every target linked into this distd declares. Clients render
/// platform choices, kinds and install modes from this instead of knowing them by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformList {
    pub schema_version: u32,
    pub platforms: Vec<PlatformInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformInfo {
    pub id: PlatformId,
    pub display_name: String,
    pub kinds: Vec<KindDescription>,
    /// The kinds a channel URL serves first, best first (`/d/...` offers a choice when this
    /// order does not decide).
    #[serde(default)]
    pub preferred_kinds: Vec<Kind>,
    /// Empty for a platform with one way to install.
    pub modes: Vec<ModeDescription>,
    /// The identity facts the target reports, which the app's identity rules may name.
    pub identity_facts: Vec<FactDescription>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactDescription {
    pub id: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindDescription {
    pub kind: Kind,
    pub description: String,
    /// False for kinds only `dist inspect` reads.
    pub publishable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModeDescription {
    pub id: InstallMode,
    pub description: String,
    /// Taken when a manifest names no mode and the target does not decide from the file.
    pub default: bool,
}

impl PlatformList {
    /// The list a registry's targets declare, sorted by id as the registry is.
    pub fn from_registry(registry: &crate::Registry) -> Self {
        let platforms = registry
            .targets()
            .iter()
            .map(|t| PlatformInfo {
                id: t.id().parse().expect("registered ids are valid"),
                display_name: t.display_name().to_owned(),
                kinds: t
                    .kinds()
                    .iter()
                    .map(|k| KindDescription {
                        kind: k.kind.parse().expect("declared kinds are valid"),
                        description: k.description.to_owned(),
                        publishable: k.publishable,
                    })
                    .collect(),
                preferred_kinds: t
                    .preferred_kinds()
                    .iter()
                    .map(|k| k.parse().expect("the registry checks preferred kinds"))
                    .collect(),
                modes: t
                    .modes()
                    .iter()
                    .map(|m| ModeDescription {
                        id: m.id.parse().expect("the registry checks declared modes"),
                        description: m.description.to_owned(),
                        default: m.default,
                    })
                    .collect(),
                identity_facts: t
                    .identity_facts()
                    .iter()
                    .map(|f| FactDescription {
                        id: f.id.to_owned(),
                        description: f.description.to_owned(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            schema_version: crate::SCHEMA_VERSION,
            platforms,
        }
    }
}

// ---- releases and artifacts ----

/// One artifact of a draft: a file (by digest) or a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ArtifactSpec {
    /// Absent for a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<FileName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallMode>,
    /// An https link instead of a file; the platform's target decides which links it takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The old name of `link` (API v1 before `link`), still accepted for one version: the
    /// server reads it as `link` and answers with a `Deprecation` header. Never sent by `dist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testflight_url: Option<String>,
    /// The file's notarization submission, as dist.json lists it (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notarization: Option<crate::Notarization>,
}

impl ArtifactSpec {
    /// Moves a deprecated `testflight_url` into `link`. Returns whether it did (the caller
    /// answers with a `Deprecation` header), or the message when both were given.
    pub fn adopt_deprecated_fields(&mut self) -> Result<bool, &'static str> {
        match (self.link.is_some(), self.testflight_url.take()) {
            (_, None) => Ok(false),
            (false, Some(url)) => {
                self.link = Some(url);
                Ok(true)
            }
            (true, Some(_)) => {
                Err("give link, not both link and testflight_url (its deprecated name)")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleaseCreate {
    pub version: Version,
    pub build: Build,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// 1 to 100 artifacts.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub artifacts: Vec<ArtifactSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ReleaseStatus {
    Draft,
    Published,
    Revoked,
}

impl ReleaseStatus {
    /// As stored in the database and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for ReleaseStatus {
    type Err = crate::InvalidValue;
    fn from_str(s: &str) -> Result<Self, crate::InvalidValue> {
        [Self::Draft, Self::Published, Self::Revoked]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| crate::InvalidValue {
                what: "release status",
                value: s.chars().take(80).collect(),
                expected: "draft, published or revoked".into(),
            })
    }
}

impl std::fmt::Display for ReleaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Artifact {
    pub id: ArtifactId,
    pub release_id: ReleaseId,
    pub platform: Option<PlatformId>,
    pub kind: Option<Kind>,
    pub file_name: Option<FileName>,
    pub size: Option<u64>,
    pub sha256: Option<Sha256>,
    pub arch: Option<Arch>,
    pub install_mode: Option<InstallMode>,
    pub link: Option<String>,
    /// The notarization submission listed with the file (its id and the status the notary
    /// service reported), as given when the release was created; what the file itself
    /// carries is in the inspection (`details.notarization`).
    #[serde(default)]
    pub notarization: Option<crate::Notarization>,
    /// True once the blob is attached and inspected.
    pub attached: bool,
    pub inspection: Option<Inspection>,
    pub download_url: Option<String>,
    pub install_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Release {
    pub id: ReleaseId,
    pub app: AppSlug,
    pub version: Version,
    pub build: Build,
    pub notes: Option<String>,
    pub source: Option<Source>,
    pub status: ReleaseStatus,
    pub created_at: String,
    pub published_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<String>,
    pub url: String,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseCreated {
    pub schema_version: u32,
    /// False when an identical release already existed.
    pub created: bool,
    pub release: Release,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseList {
    pub schema_version: u32,
    pub releases: Vec<Release>,
    /// Where the next page starts (`?cursor=`); `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishResult {
    pub schema_version: u32,
    pub release: Release,
    /// Every finding considered (warnings and info included).
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// 1 to 2000 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 2000, pattern = r"\S")
    )]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobInfo {
    pub sha256: Sha256,
    pub size: u64,
    /// False when the server already had it.
    pub created: bool,
}

// ---- channels ----

/// Per-channel policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChannelPolicy {
    /// Warning codes that block promotion to this channel (`*` for every warning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocking_warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    pub app: AppSlug,
    pub name: ChannelName,
    pub release_id: Option<ReleaseId>,
    pub updated_at: String,
    pub policy: ChannelPolicy,
    #[serde(default)]
    pub access: Access,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelList {
    pub schema_version: u32,
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub release_id: ReleaseId,
    /// Move the channel to a release created before the one it points at (a deliberate
    /// downgrade); without it the server refuses with 409. Rollbacks need no flag. Left out
    /// of the JSON when false, so a client that never downgrades talks to older servers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_downgrade: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelMove {
    pub schema_version: u32,
    pub channel: Channel,
    pub previous_release_id: Option<ReleaseId>,
    /// Findings the move considered (continuity, policy).
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelHistoryEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    /// `promote` or `rollback`.
    pub action: String,
    pub from_release_id: Option<ReleaseId>,
    pub to_release_id: Option<ReleaseId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelHistory {
    pub schema_version: u32,
    pub history: Vec<ChannelHistoryEntry>,
    /// Where the next page starts (`?cursor=`); `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

// ---- audit ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub seq: i64,
    pub at: String,
    /// `tok_...:name`, `system` or `anonymous`.
    pub actor: String,
    /// `release.create`, `blob.upload`, `channel.promote`, `auth.denied`, ...
    pub action: String,
    pub app: Option<String>,
    pub subject: Option<String>,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditList {
    pub schema_version: u32,
    pub events: Vec<AuditEvent>,
    /// Where the next page starts (`?cursor=`); `None` on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerify {
    pub schema_version: u32,
    pub ok: bool,
    pub checked: u64,
    /// The first row that does not verify (edited, or after a gap).
    pub first_bad_seq: Option<i64>,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_strings_match_the_serialisation() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::DigestMismatch,
            ErrorCode::SizeMismatch,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::PayloadTooLarge,
            ErrorCode::ValidationFailed,
            ErrorCode::UploadStalled,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
            ErrorCode::InsufficientStorage,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
        }
    }

    /// Issue 9, item 10: distd reads artifact names through `FileName`, so a body naming a
    /// file with a bidi override is refused with the character named.
    #[test]
    fn artifact_specs_refuse_hidden_characters_in_names() {
        let body = serde_json::json!({
            "file_name": "invoice\u{202e}kpa.exe",
            "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "size": 3,
        });
        let e = serde_json::from_value::<ArtifactSpec>(body).unwrap_err();
        assert!(
            e.to_string().contains("U+202E RIGHT-TO-LEFT OVERRIDE"),
            "{e}"
        );
    }
}
