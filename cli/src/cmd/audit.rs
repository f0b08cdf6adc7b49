//! `dist audit list|verify`.

use clap::{Args, Subcommand};
use platform::api::{AuditList, AuditVerify};

use crate::Ctx;
use crate::exit::{Exit, Failure};
use crate::ui::{self, or_dash};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// List audit events (admin), oldest first
    #[command(
        after_help = "Example:\n  dist audit list --app acme --action channel.promote --limit 50"
    )]
    List(ListArgs),
    /// Verify the audit chain (admin); exits 3 if a row was edited or removed
    #[command(after_help = "Example:\n  dist audit verify --json")]
    Verify,
}

#[derive(Args)]
pub struct ListArgs {
    /// `release.create`, `channel.promote`, `auth.denied`, ...
    #[arg(long)]
    pub action: Option<String>,
    #[arg(long)]
    pub app: Option<String>,
    /// `tok_...` id or `system`
    #[arg(long)]
    pub actor: Option<String>,
    /// Only events after this sequence number
    #[arg(long)]
    pub after: Option<i64>,
    #[arg(long)]
    pub limit: Option<u32>,
}

pub async fn run(cmd: AuditCommand, ctx: &Ctx) -> anyhow::Result<()> {
    let api = ctx.api()?;
    match cmd {
        AuditCommand::List(a) => {
            let mut q: Vec<(&str, String)> = Vec::new();
            for (k, v) in [("action", a.action), ("app", a.app), ("actor", a.actor)] {
                if let Some(v) = v {
                    q.push((k, v));
                }
            }
            if let Some(after) = a.after {
                q.push(("after", after.to_string()));
            }
            if let Some(limit) = a.limit {
                q.push(("limit", limit.to_string()));
            }
            let list: AuditList = api.get_query(&["audit"], &q).await?;
            if ctx.json() {
                return ui::print_json(&list);
            }
            let mut rows = vec![
                ["SEQ", "AT", "ACTOR", "ACTION", "APP", "SUBJECT"]
                    .map(str::to_owned)
                    .to_vec(),
            ];
            for e in &list.events {
                rows.push(vec![
                    e.seq.to_string(),
                    e.at.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    or_dash(e.app.as_deref()),
                    or_dash(e.subject.as_deref()),
                ]);
            }
            ctx.ui.table(&rows);
            Ok(())
        }
        AuditCommand::Verify => {
            let v: AuditVerify = api.get(&["audit", "verify"]).await?;
            if ctx.json() {
                ui::print_json(&v)?;
            } else {
                ctx.ui.line(&format!(
                    "{}: {} events checked; {}",
                    if v.ok { "ok" } else { "BROKEN" },
                    v.checked,
                    v.message
                ));
            }
            if v.ok {
                Ok(())
            } else {
                let f = Failure::new(
                    Exit::Validation,
                    "audit_broken",
                    format!(
                        "the audit chain does not verify{}: {}",
                        v.first_bad_seq
                            .map(|s| format!(" from event {s}"))
                            .unwrap_or_default(),
                        v.message
                    ),
                );
                Err(if ctx.json() { f.with_printed() } else { f }.into())
            }
        }
    }
}
