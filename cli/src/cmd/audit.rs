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
        after_help = "Examples:\n  dist audit list --app acme --action channel.promote --limit 50\n  dist audit list --all --json\n\nWithout --all, one page (--limit events, 100 by default); a note on stderr says when more follow."
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
    /// Follow every page to the end
    #[arg(long)]
    pub all: bool,
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
            let list: AuditList = api.get_pages(&["audit"], &q, a.all).await?;
            if list.next_cursor.is_some() {
                ctx.ui.note(&format!(
                    "showing {} events; more follow: --all lists every one",
                    list.events.len()
                ));
            }
            if ctx.json() {
                return ui::print_json(&list);
            }
            let mut rows = vec![
                ["SEQ", "AT", "ACTOR", "ACTION", "APP", "SUBJECT", "DETAIL"]
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
                    detail(&e.action, &e.details),
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

/// One short line of an event's details for the table: where a channel moved, why a release
/// was revoked, what was refused. The JSON (`--json`) keeps every detail.
fn detail(action: &str, d: &serde_json::Value) -> String {
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("-").to_owned();
    match action {
        "channel.promote" | "channel.rollback" => format!("{} -> {}", s("from"), s("to")),
        "release.revoke" => format!("reason: {}", s("reason")),
        "auth.denied" => format!(
            "{} refused ({}): {}",
            s("endpoint"),
            d.get("status")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
            s("reason")
        ),
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_for_the_table() {
        assert_eq!(
            detail("channel.promote", &json!({"from": null, "to": "rel_2"})),
            "- -> rel_2"
        );
        assert_eq!(
            detail("release.revoke", &json!({"reason": "crash"})),
            "reason: crash"
        );
        assert_eq!(
            detail(
                "auth.denied",
                &json!({"endpoint": "channel.promote", "status": 403, "reason": "no"})
            ),
            "channel.promote refused (403): no"
        );
        assert_eq!(detail("blob.upload", &json!({})), "-");
    }
}
