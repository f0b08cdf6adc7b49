//! One askama template per admin page.

use askama::Template;

use super::views::*;

/// `/admin/signin`: a personal token in, a session cookie out.
#[derive(Template)]
#[template(path = "admin/signin.html")]
pub struct SignInPage {
    /// The double-submit value of the sign-in form (before there is a session).
    pub csrf: String,
    pub error: Option<String>,
}

/// `/admin`: every app the caller may read, each channel's current release at a glance.
#[derive(Template)]
#[template(path = "admin/apps.html")]
pub struct AppsPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub apps: Vec<AppRowView>,
    pub can_create: bool,
    pub platforms: Vec<Choice>,
}

/// The filters of the releases table, as given.
#[derive(Default)]
pub struct ReleaseFilterView {
    pub status: String,
    pub platform: String,
    pub version: String,
    pub since: String,
}

/// `/admin/apps/{app}`: channels, then the releases table with filters and paging.
#[derive(Template)]
#[template(path = "admin/app.html")]
pub struct AppPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub slug: String,
    pub name: String,
    pub access: String,
    /// `warning` or `error`: what a file whose version differs from its release's is.
    pub version_mismatch: String,
    pub channels: Vec<ChannelRowView>,
    pub releases: Vec<ReleaseRowView>,
    pub filter: ReleaseFilterView,
    pub statuses: Vec<Choice>,
    pub platforms: Vec<Choice>,
    /// The next page, filters kept.
    pub next_url: Option<String>,
    /// The first page, when this is not it.
    pub first_url: Option<String>,
    pub can_admin: bool,
}

/// `/admin/releases/{id}`: every artifact's inspection, findings by severity, downloads, and
/// the diff against each channel's current release.
#[derive(Template)]
#[template(path = "admin/release.html")]
pub struct ReleasePage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub app: String,
    pub release: ReleaseRowView,
    pub notes: Option<String>,
    pub revoke_reason: Option<String>,
    pub artifacts: Vec<ArtifactView>,
    pub findings: Vec<FindingGroup>,
    pub diffs: Vec<DiffView>,
    /// Channels the caller may promote this release to.
    pub promote_to: Vec<String>,
}

/// `/admin/apps/{app}/channels/{channel}`: pointer, history, roll back, policy and access.
#[derive(Template)]
#[template(path = "admin/channel.html")]
pub struct ChannelPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub app: String,
    pub channel: ChannelRowView,
    /// Blocking warning codes, comma separated.
    pub policy: String,
    pub history: Vec<HistoryView>,
    /// Where a roll back would go (None: nothing to roll back to).
    pub rollback_to: Option<ReleaseRowView>,
    /// Recent published releases to pick for a promotion.
    pub candidates: Vec<ReleaseRowView>,
    pub can_promote: bool,
    pub can_admin: bool,
}

/// The promote form's second step: everything the person should see before confirming.
#[derive(Template)]
#[template(path = "admin/promote.html")]
pub struct PromotePage {
    pub nav: Nav,
    pub app: String,
    pub channel: String,
    pub release: ReleaseRowView,
    pub current: Option<ReleaseRowView>,
    pub findings: Vec<FindingGroup>,
    pub diff: Vec<String>,
    /// Findings the channel's policy (or continuity) blocks on: the promotion would fail.
    pub blocking: Vec<FindingView>,
    /// Set when the release is older than the channel's: why a downgrade checkbox is needed.
    pub downgrade: Option<String>,
    pub policy: String,
}

/// The roll back confirmation, naming where the channel goes.
#[derive(Template)]
#[template(path = "admin/rollback.html")]
pub struct RollbackPage {
    pub nav: Nav,
    pub app: String,
    pub channel: String,
    pub current: Option<ReleaseRowView>,
    pub target: ReleaseRowView,
}

/// `/admin/tokens`.
#[derive(Template)]
#[template(path = "admin/tokens.html")]
pub struct TokensPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub tokens: Vec<TokenView>,
    /// Only the caller's own tokens are listed (a session without the admin scope).
    pub own_only: bool,
    pub can_create: bool,
    pub scopes: Vec<Choice>,
    pub apps: Vec<Choice>,
    pub created: Option<CreatedToken>,
    pub next_url: Option<String>,
}

/// The filters of the audit table, as given.
#[derive(Default)]
pub struct AuditFilterView {
    pub actor: String,
    pub action: String,
    pub app: String,
    pub since: String,
    pub until: String,
}

/// `/admin/audit`.
#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub nav: Nav,
    pub rows: Vec<AuditView>,
    pub filter: AuditFilterView,
    pub verify: Option<VerifyView>,
    /// Where to verify the chain on request (a long log is not verified on every view).
    pub verify_url: Option<String>,
    pub next_url: Option<String>,
    pub export_url: String,
}

/// `/admin/apps/{app}/identity`: one form, its fields generated from the identity facts each
/// of the app's targets declares.
#[derive(Template)]
#[template(path = "admin/identity.html")]
pub struct IdentityPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub app: String,
    pub platforms: Vec<RulesPlatform>,
    pub error: Option<String>,
}

/// An error inside the console, with its bar when the caller is known.
#[derive(Template)]
#[template(path = "admin/error.html")]
pub struct AdminErrorPage {
    pub nav: Option<Nav>,
    pub status: u16,
    pub title: String,
    pub code: String,
    pub message: String,
}

/// `/admin/settings`: the server, its storage and its maintenance runs, as facts.
#[derive(Template)]
#[template(path = "admin/settings.html")]
pub struct SettingsPage {
    pub nav: Nav,
    pub server: Vec<Fact>,
    pub storage: Vec<Fact>,
    /// The last backup, gc, retention and re-inspection runs as the audit log and the
    /// database record them.
    pub maintenance: Vec<Fact>,
}
