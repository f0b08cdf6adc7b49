//! The append-only, hash-chained audit log. Each row's `hash` is
//! SHA-256(prev_hash || canonical JSON of its content), where the content is
//! `{seq, at, actor, action, app, subject, details}` with object keys sorted and no spaces.
//! The first row's `prev_hash` is 64 zeros. Triggers refuse UPDATE and DELETE; `verify`
//! catches what a person with the file in hand does anyway (edit, delete, reorder).

use rusqlite::Connection;
use serde_json::{Value, json};
use sha2::Digest;

use platform::SCHEMA_VERSION;
use platform::api::{AuditEvent, AuditVerify};

use crate::db::{self, AuditRow};
use crate::error::AppResult;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event to record, inside the transaction of the change it describes.
pub struct Event<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub app: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub details: Value,
}

/// JSON with object keys sorted and no whitespace: the same bytes whatever map order
/// serde_json was built with.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn content(row: &AuditRow) -> Value {
    let details: Value =
        serde_json::from_str(&row.details).unwrap_or(Value::String(row.details.clone()));
    json!({
        "seq": row.seq,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "app": row.app,
        "subject": row.subject,
        "details": details,
    })
}

pub fn row_hash(prev_hash: &str, row: &AuditRow) -> String {
    let mut h = sha2::Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical_json(&content(row)).as_bytes());
    hex::encode(h.finalize())
}

/// Appends one event. Call inside an IMMEDIATE transaction so that the read of the previous
/// row and the insert are one step, across processes too (`distd token create`).
pub fn append(c: &Connection, e: Event<'_>) -> AppResult<i64> {
    let (seq, prev_hash) = match db::last_audit(c)? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let mut row = AuditRow {
        seq,
        at: crate::util::now(),
        actor: e.actor.to_owned(),
        action: e.action.to_owned(),
        app: e.app.map(str::to_owned),
        subject: e.subject.map(str::to_owned),
        details: canonical_json(&e.details),
        prev_hash,
        hash: String::new(),
    };
    row.hash = row_hash(&row.prev_hash, &row);
    db::insert_audit(c, &row)?;
    Ok(seq)
}

/// Where the chain's head anchor lives: `audit-head` beside the database.
pub fn head_path(db_path: &std::path::Path) -> std::path::PathBuf {
    db_path.with_file_name("audit-head")
}

/// Replaces the head anchor (`<seq> <hash>`) through a temporary file and a rename.
pub fn write_head(path: &std::path::Path, seq: i64, hash: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{seq} {hash}\n"))?;
    std::fs::rename(&tmp, path)
}

/// Reads the head anchor; `None` when there is none yet (a new data folder) or it is not
/// in the expected form.
pub fn read_head(path: &std::path::Path) -> Option<(i64, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (seq, hash) = text.trim().split_once(' ')?;
    let seq = seq.parse().ok()?;
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| (seq, hash.to_owned()))
}

/// Walks the chain; with a head anchor, also checks that the row it names is still there
/// with the same hash, so rows cut from the end are caught too.
pub fn verify_with_head(c: &Connection, head: Option<(i64, String)>) -> AppResult<AuditVerify> {
    let mut v = verify(c)?;
    let Some((head_seq, head_hash)) = head else {
        return Ok(v);
    };
    if !v.ok {
        return Ok(v);
    }
    let found = db::audit_hash_at(c, head_seq)?;
    let problem = match found {
        Some(h) if h == head_hash => None,
        Some(_) => Some(format!(
            "row {head_seq}: its hash differs from the one the head anchor recorded (the chain was rewritten)"
        )),
        None => Some(format!(
            "the chain ends at row {} but the head anchor recorded row {head_seq}: the newest rows were removed",
            v.checked
        )),
    };
    if let Some(message) = problem {
        v.ok = false;
        v.first_bad_seq = Some(head_seq.min(v.checked as i64 + 1));
        v.message = message;
    }
    Ok(v)
}

pub fn verify(c: &Connection) -> AppResult<AuditVerify> {
    let mut checked = 0u64;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_owned();
    let mut bad: Option<(i64, String)> = None;
    db::for_each_audit(c, |row| {
        let problem = if row.seq != expected_seq {
            Some(format!(
                "row {} follows row {}: {} row(s) missing (deleted)",
                row.seq,
                expected_seq - 1,
                row.seq - expected_seq
            ))
        } else if row.prev_hash != prev {
            Some(format!(
                "row {}: prev_hash does not match the previous row's hash (a row was removed or replaced)",
                row.seq
            ))
        } else if row_hash(&row.prev_hash, &row) != row.hash {
            Some(format!(
                "row {}: content does not match its hash (the row was edited)",
                row.seq
            ))
        } else {
            None
        };
        match problem {
            Some(p) => {
                bad = Some((row.seq, p));
                false
            }
            None => {
                checked += 1;
                expected_seq = row.seq + 1;
                prev = row.hash;
                true
            }
        }
    })?;
    Ok(match bad {
        Some((seq, message)) => AuditVerify {
            schema_version: SCHEMA_VERSION,
            ok: false,
            checked,
            first_bad_seq: Some(seq),
            message,
        },
        None => AuditVerify {
            schema_version: SCHEMA_VERSION,
            ok: true,
            checked,
            first_bad_seq: None,
            message: format!("{checked} event(s), chain intact"),
        },
    })
}

pub fn to_api(row: AuditRow) -> AuditEvent {
    AuditEvent {
        seq: row.seq,
        at: row.at,
        actor: row.actor,
        action: row.action,
        app: row.app,
        subject: row.subject,
        details: serde_json::from_str(&row.details).unwrap_or(Value::Null),
        prev_hash: row.prev_hash,
        hash: row.hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_sorts_keys() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":0,"y":"x"}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}"#
        );
    }

    #[test]
    fn chain_detects_edit_and_gap() {
        let mut c = Connection::open_in_memory().unwrap();
        db::migrate(&mut c).unwrap();
        for i in 0..3 {
            append(
                &c,
                Event {
                    actor: "system",
                    action: "test",
                    app: None,
                    subject: Some(&format!("s{i}")),
                    details: json!({"i": i}),
                },
            )
            .unwrap();
        }
        assert!(verify(&c).unwrap().ok);
        c.execute_batch(
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;",
        )
        .unwrap();
        c.execute("UPDATE audit_events SET subject = 'x' WHERE seq = 2", [])
            .unwrap();
        let v = verify(&c).unwrap();
        assert!(!v.ok);
        assert_eq!(v.first_bad_seq, Some(2));
        c.execute("DELETE FROM audit_events WHERE seq = 2", [])
            .unwrap();
        let v = verify(&c).unwrap();
        assert_eq!(v.first_bad_seq, Some(3));
        assert!(v.message.contains("missing"), "{}", v.message);
    }

    #[test]
    fn triggers_refuse_update() {
        let mut c = Connection::open_in_memory().unwrap();
        db::migrate(&mut c).unwrap();
        append(
            &c,
            Event {
                actor: "system",
                action: "t",
                app: None,
                subject: None,
                details: json!({}),
            },
        )
        .unwrap();
        assert!(
            c.execute("UPDATE audit_events SET actor = 'x'", [])
                .is_err()
        );
        assert!(c.execute("DELETE FROM audit_events", []).is_err());
    }
}
