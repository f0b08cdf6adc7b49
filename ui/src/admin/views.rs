//! The values admin pages show: rows of tables and facts, already in words. The server fills
//! them from the same services and documents the API answers with.

/// Who is signed in, for the bar on every page and every form's CSRF field.
pub struct Nav {
    pub token_id: String,
    pub token_name: String,
    /// `admin`, `promote, read`, ...
    pub scopes: String,
    /// The one app the session's token is limited to.
    pub app_limit: Option<String>,
    /// This session's CSRF token, sent back by every form.
    pub csrf: String,
    /// The section the page belongs to (`apps`, `tokens`, `audit`), marked in the bar.
    pub section: &'static str,
    /// Whether the audit section is the caller's (an admin token).
    pub can_audit: bool,
    /// Whether the settings and health page is (an admin token without limits).
    pub can_settings: bool,
}

/// Findings counted by severity.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn is_empty(&self) -> bool {
        self.errors + self.warnings + self.infos == 0
    }
}

/// One release as a table row.
#[derive(Clone)]
pub struct ReleaseRowView {
    pub id: String,
    pub version: String,
    pub build: String,
    /// `draft`, `published`, `revoked`.
    pub status: String,
    /// The platforms of its artifacts, comma separated.
    pub platforms: String,
    pub findings: Counts,
    pub created_at: String,
    /// `3 d`, `5 h`, `2 min`: how long ago it was created.
    pub age: String,
    pub commit: Option<String>,
    /// The CI run that built it (an http(s) URL; anything else is not linked).
    pub ci_url: Option<String>,
}

impl ReleaseRowView {
    /// The first 12 characters of the commit.
    pub fn short_commit(&self) -> Option<String> {
        self.commit.as_ref().map(|c| c.chars().take(12).collect())
    }
}

/// A channel and what it points at.
pub struct ChannelRowView {
    pub name: String,
    /// `public` or `token`.
    pub access: String,
    pub release: Option<ReleaseRowView>,
    pub updated_at: String,
}

/// An app on the apps page.
pub struct AppRowView {
    pub slug: String,
    pub name: String,
    pub platforms: String,
    pub access: String,
    pub channels: Vec<ChannelRowView>,
}

pub struct FindingView {
    /// `error`, `warning`, `info`.
    pub severity: String,
    pub code: String,
    pub message: String,
}

/// The findings of one severity.
pub struct FindingGroup {
    pub severity: &'static str,
    pub findings: Vec<FindingView>,
}

/// A labelled fact of an inspection.
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// One artifact of a release with its inspection in words and as JSON.
pub struct ArtifactView {
    pub id: String,
    pub file: String,
    pub platform: String,
    pub kind: String,
    pub arch: String,
    pub size: String,
    pub sha256: String,
    pub attached: bool,
    /// Identity, signature and chain, profile, permissions and entitlements, archs,
    /// notarization, ... as far as the inspection has them.
    pub facts: Vec<Fact>,
    /// The stored inspection, pretty-printed.
    pub raw_json: String,
    pub download_url: Option<String>,
    pub install_url: Option<String>,
    pub link: Option<String>,
}

/// What changed from a channel's current release to this one.
pub struct DiffView {
    pub channel: String,
    pub current_id: String,
    pub current_label: String,
    /// One line per change (`<platform>: permission added <name>`).
    pub lines: Vec<String>,
}

/// One move of a channel.
pub struct HistoryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub from: String,
    pub to: String,
}

pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub app: String,
    pub channels: String,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    /// Whether the caller may revoke it (its admin, or the person who made it).
    pub can_revoke: bool,
}

/// A secret shown once, right after its token was created.
pub struct CreatedToken {
    pub id: String,
    pub name: String,
    pub secret: String,
}

pub struct AuditView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub app: String,
    pub subject: String,
    pub details: String,
}

/// The audit chain's state as `GET /api/v1/audit/verify` reports it.
pub struct VerifyView {
    pub ok: bool,
    pub message: String,
}

/// An option of a `<select>` or a checkbox.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One identity fact a target declares, as a form field of the identity rules.
pub struct RulesField {
    /// The form field: `{platform}.{rule list}`.
    pub name: String,
    /// The fact's id (`identity`, `team_id`, ...).
    pub fact: String,
    /// What the fact is on this platform, as the target says.
    pub description: String,
    /// The rule list, one value a line.
    pub value: String,
}

/// One platform's identity rules form.
pub struct RulesPlatform {
    pub id: String,
    pub display_name: String,
    pub fields: Vec<RulesField>,
}
