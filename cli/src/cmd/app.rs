//! `dist app create|list|show|set-identity|access|settings`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use platform::api::{
    Access, AccessRequest, App, AppCreate, AppKey, AppKeyAdd, AppKeyList, AppList, AppSettings,
};
use platform::versions::MismatchPolicy;
use platform::{AppSlug, IdentityRules, PlatformId, PlatformRules};

use crate::Ctx;
use crate::client::Retry;
use crate::exit::Failure;
use crate::ui;

#[derive(Subcommand)]
pub enum AppCommand {
    /// Create an app (admin)
    #[command(
        after_help = "Example:\n  dist app create acme --name \"Acme\" --platform {platform2} --platform {platform}"
    )]
    Create(CreateArgs),
    /// List apps
    #[command(after_help = "Example:\n  dist app list --json")]
    List,
    /// Show one app with its identity rules
    #[command(after_help = "Example:\n  dist app show acme")]
    Show { slug: AppSlug },
    /// Replace one platform's identity rules, or all of them from a JSON file (admin)
    #[command(after_help = "\
The rules are allow-lists: every artifact of the platform must match to publish. Values are
exact; an identity ending in `.*` matches any identity under that prefix. Flags replace the
named platform's rules and keep the others; --rules-file replaces every platform's, in the
API's JSON form ({\"{platform:signer_sha256}\":{\"identities\":[...],\"signer_sha256\":[...]}}).

Examples:
  dist app set-identity acme --platform {platform:signer_sha256} --identity com.acme.app --signer-sha256 4f1c...
  dist app set-identity acme --platform {platform:team_id} --identity 'com.acme.*' --team-id ABCDE12345
  dist app set-identity acme --rules-file identity.json")]
    SetIdentity(SetIdentityArgs),
    /// Make the app's pages public or token-only (admin)
    #[command(after_help = "\
`token` (the default): install pages and channel URLs need a download link or a session.
`public`: every published release of the app opens without one. To open only some releases,
keep the app `token` and make a channel public (dist channel access APP CHANNEL public).

Example:
  dist app access acme public")]
    Access { slug: AppSlug, access: Access },
    /// Change the app's settings (admin)
    #[command(after_help = "\
--version-mismatch: what a file whose declared version or build differs from its release's
is. `warning` (the default) is reported and publishes; `error` blocks the publish (the server
refuses it, and `dist ci publish` stops before any upload when its token may read the app).

Example:
  dist app settings acme --version-mismatch error")]
    Settings(SettingsArgs),
    /// Add a public key the app's signatures are verified with (admin)
    #[command(after_help = "\
The platform's target reads the key; a platform whose packages are signed with OpenPGP takes
the signer's public key as `gpg --armor --export KEYID` writes it. Files attached after the key
is added read `signed` when one of the app's keys verifies them, `unknown` with the key id
otherwise; `dist app keys` lists them. A platform that takes no keys answers 422. The answer
names the key's signer SHA-256: `dist app set-identity --signer-sha256` with it accepts
that key's signatures only.

Example:
  gpg --armor --export release@acme.example > acme.asc
  dist app add-key acme --platform {platform:keys} acme.asc")]
    AddKey(AddKeyArgs),
    /// List the public keys the app's signatures are verified with
    #[command(after_help = "Example:\n  dist app keys acme --json")]
    Keys { slug: AppSlug },
    /// Remove a key by its fingerprint (admin)
    #[command(
        after_help = "Example:\n  dist app remove-key acme d77f31532859b641cbf0dedee9ad2cfa7603f49b"
    )]
    RemoveKey { slug: AppSlug, fingerprint: String },
}

#[derive(Args)]
pub struct AddKeyArgs {
    pub slug: AppSlug,
    /// The platform whose signatures the key verifies
    #[arg(long)]
    pub platform: PlatformId,
    /// The key file (text, at most 64 KiB)
    pub file: PathBuf,
}

#[derive(Args)]
pub struct SettingsArgs {
    pub slug: AppSlug,
    /// `warning` or `error`
    #[arg(long, value_name = "POLICY")]
    pub version_mismatch: Option<MismatchPolicy>,
}

#[derive(Args)]
pub struct CreateArgs {
    pub slug: AppSlug,
    /// Display name
    #[arg(long)]
    pub name: String,
    /// Platforms the app ships (default: any linked platform)
    #[arg(long = "platform", value_name = "PLATFORM")]
    pub platforms: Vec<PlatformId>,
}

#[derive(Args)]
pub struct SetIdentityArgs {
    pub slug: AppSlug,
    /// The platform whose rules the flags replace
    #[arg(
        long,
        required_unless_present = "rules_file",
        conflicts_with = "rules_file"
    )]
    pub platform: Option<PlatformId>,
    /// Allowed identity (bundle id, package name); repeatable
    #[arg(long = "identity", value_name = "ID")]
    pub identities: Vec<String>,
    /// Allowed Apple team id; repeatable
    #[arg(long = "team-id", value_name = "TEAM")]
    pub team_ids: Vec<String>,
    /// Pinned signer certificate SHA-256 (hex); repeatable
    #[arg(long = "signer-sha256", value_name = "HEX")]
    pub signer_sha256: Vec<String>,
    /// Allowed Windows publisher; repeatable
    #[arg(long = "publisher", value_name = "NAME")]
    pub publishers: Vec<String>,
    /// Every platform's rules from a JSON file
    #[arg(long, value_name = "FILE")]
    pub rules_file: Option<PathBuf>,
}

pub async fn run(cmd: AppCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    match cmd {
        AppCommand::Create(a) => {
            let body = AppCreate {
                slug: a.slug,
                name: a.name,
                platforms: a.platforms,
                identity: IdentityRules::new(),
            };
            let (_, app): (_, App) = api.post(&["apps"], Some(&body), Retry::ConnectOnly).await?;
            ctx.ui.note(&format!("created app {}", app.slug));
            show(ctx, &app)
        }
        AppCommand::List => {
            let list: AppList = api.get(&["apps"]).await?;
            if ctx.json() {
                return ui::print_json(&list);
            }
            let mut rows = vec![
                ["SLUG", "NAME", "PLATFORMS", "CREATED"]
                    .map(str::to_owned)
                    .to_vec(),
            ];
            for a in &list.apps {
                rows.push(vec![
                    a.slug.to_string(),
                    a.name.clone(),
                    platforms(&a.platforms),
                    a.created_at.clone(),
                ]);
            }
            ctx.ui.table(&rows);
            Ok(())
        }
        AppCommand::Show { slug } => {
            let app: App = api.get(&["apps", slug.as_str()]).await?;
            show(ctx, &app)
        }
        AppCommand::SetIdentity(a) => {
            let rules = match (&a.rules_file, &a.platform) {
                (Some(path), _) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        Failure::usage(format!("cannot read {}: {e}", path.display()))
                    })?;
                    serde_json::from_slice::<IdentityRules>(&bytes).map_err(|e| {
                        Failure::usage(format!("{}: not identity rules: {e}", path.display()))
                    })?
                }
                (None, Some(platform)) => {
                    let mut current: App = api.get(&["apps", a.slug.as_str()]).await?;
                    let r = PlatformRules {
                        identities: a.identities,
                        team_ids: a.team_ids,
                        signer_sha256: a
                            .signer_sha256
                            .iter()
                            .map(|s| s.to_ascii_lowercase().replace(':', ""))
                            .collect(),
                        publishers: a.publishers,
                    };
                    if r.is_empty() {
                        current.identity.remove(platform);
                    } else {
                        current.identity.insert(platform.clone(), r);
                    }
                    current.identity
                }
                (None, None) => {
                    return Err(Failure::usage("give --platform or --rules-file").into());
                }
            };
            let app: App = api
                .put_json(&["apps", a.slug.as_str(), "identity"], &rules)
                .await?;
            ctx.ui
                .note(&format!("updated identity rules of {}", app.slug));
            show(ctx, &app)
        }
        AppCommand::Access { slug, access } => {
            let app: App = api
                .put_json(
                    &["apps", slug.as_str(), "access"],
                    &AccessRequest { access },
                )
                .await?;
            ctx.ui
                .note(&format!("app {} pages are now {}", app.slug, app.access));
            show(ctx, &app)
        }
        AppCommand::Settings(a) => {
            let settings = AppSettings {
                version_mismatch: a.version_mismatch,
            };
            if settings == AppSettings::default() {
                return Err(Failure::usage(
                    "nothing to change: pass --version-mismatch warning|error",
                )
                .into());
            }
            let app: App = api
                .put_json(&["apps", a.slug.as_str(), "settings"], &settings)
                .await?;
            ctx.ui.note(&format!("updated settings of {}", app.slug));
            show(ctx, &app)
        }
        AppCommand::AddKey(a) => {
            let key = read_key(&a.file)?;
            let body = AppKeyAdd {
                platform: a.platform,
                key,
            };
            let (status, key): (_, AppKey) = api
                .post(
                    &["apps", a.slug.as_str(), "keys"],
                    Some(&body),
                    Retry::Idempotent,
                )
                .await?;
            if ctx.json() {
                return ui::print_json(&key);
            }
            let what = if status == reqwest::StatusCode::CREATED {
                "added"
            } else {
                "already had"
            };
            ctx.ui.note(&format!(
                "{} {what} {} key {} {}",
                a.slug, key.platform, key.fingerprint, key.label
            ));
            if let Some(pin) = &key.signer_sha256 {
                ctx.ui.note(&format!(
                    "to accept only this key's signatures: dist app set-identity {} --platform {} --signer-sha256 {pin}",
                    a.slug, key.platform
                ));
            }
            Ok(())
        }
        AppCommand::Keys { slug } => {
            let list: AppKeyList = api.get(&["apps", slug.as_str(), "keys"]).await?;
            if ctx.json() {
                return ui::print_json(&list);
            }
            let mut rows = vec![
                [
                    "PLATFORM",
                    "FINGERPRINT",
                    "LABEL",
                    "SIGNER SHA-256 (to pin)",
                    "ADDED",
                ]
                .map(str::to_owned)
                .to_vec(),
            ];
            for k in &list.keys {
                rows.push(vec![
                    k.platform.to_string(),
                    k.fingerprint.clone(),
                    k.label.clone(),
                    k.signer_sha256.clone().unwrap_or_else(|| "-".into()),
                    k.added_at.clone(),
                ]);
            }
            ctx.ui.table(&rows);
            Ok(())
        }
        AppCommand::RemoveKey { slug, fingerprint } => {
            let fingerprint = fingerprint.to_ascii_lowercase().replace([' ', ':'], "");
            api.delete(&["apps", slug.as_str(), "keys", &fingerprint])
                .await?;
            ctx.ui
                .note(&format!("removed key {fingerprint} from {slug}"));
            Ok(())
        }
    }
}

/// A key file, bounded before it is read whole.
fn read_key(path: &std::path::Path) -> Result<String, Failure> {
    let unreadable =
        |e: std::io::Error| Failure::usage(format!("cannot read {}: {e}", path.display()));
    let len = std::fs::metadata(path).map_err(unreadable)?.len();
    if len > platform::api::MAX_APP_KEY_BYTES as u64 {
        return Err(Failure::usage(format!(
            "{}: {len} bytes, more than a public key ({} at most); export only the public key (gpg --armor --export KEYID)",
            path.display(),
            platform::api::MAX_APP_KEY_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::usage(format!(
            "{}: not text; export the key armored (gpg --armor --export KEYID)",
            path.display()
        ))
    })
}

fn platforms(p: &[PlatformId]) -> String {
    if p.is_empty() {
        "any".into()
    } else {
        p.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
    }
}

fn show(ctx: &Ctx, app: &App) -> anyhow::Result<()> {
    if ctx.json() {
        return ui::print_json(app);
    }
    let ui = &ctx.ui;
    ui.line(&format!("slug:      {}", app.slug));
    ui.line(&format!("name:      {}", app.name));
    ui.line(&format!("platforms: {}", platforms(&app.platforms)));
    ui.line(&format!("access:    {}", app.access));
    ui.line(&format!(
        "versions:  a mismatch is {}",
        app.version_mismatch
    ));
    ui.line(&format!("created:   {}", app.created_at));
    if app.identity.is_empty() {
        ui.line("identity:  (no rules)");
    }
    for (platform, r) in &app.identity {
        ui.line(&format!("identity {platform}:"));
        for (label, values) in [
            ("identities", &r.identities),
            ("team ids", &r.team_ids),
            ("signers", &r.signer_sha256),
            ("publishers", &r.publishers),
        ] {
            if !values.is_empty() {
                ui.line(&format!("  {label}: {}", values.join(", ")));
            }
        }
    }
    Ok(())
}
