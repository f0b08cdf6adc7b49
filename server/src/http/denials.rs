//! Anonymous refusals, coalesced. Every audit row is fsynced and can never be deleted, so a
//! row per refused write without a valid token would let anyone grow the log and queue
//! behind the single writer. Instead, anonymous refusals are counted in memory per client
//! address and wall-clock minute, and each (address, minute) becomes one `auth.denied` row
//! with the count once the minute is over (and at shutdown). Refusals of a valid token stay
//! one row each, written at once (see `http::deny`).
//!
//! The price: a `kill -9` loses the counts of the current minute, and a row appears up to a
//! minute after the refusals it counts. Memory is bounded: past [`MAX_BUCKETS`] addresses in
//! one minute, further addresses share one bucket whose client is `"(many)"`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, Event};
use crate::db::Db;

/// Distinct (address, minute) buckets held before further addresses share one.
pub const MAX_BUCKETS: usize = 10_000;
/// Distinct endpoints and apps named per row; the rest are counted under `"(other)"`.
const MAX_NAMES: usize = 16;
const MANY: &str = "(many)";
const OTHER: &str = "(other)";

/// The counts of anonymous refusals not yet written.
#[derive(Debug, Default)]
pub struct Denials {
    buckets: Mutex<HashMap<(String, i64), Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    count: u64,
    first_at: String,
    last_at: String,
    endpoints: BTreeMap<String, u64>,
    apps: BTreeMap<String, u64>,
    statuses: BTreeMap<u16, u64>,
    /// "missing token", "unknown token", "token x (tok_...) was revoked": never a secret.
    reasons: BTreeMap<String, u64>,
}

/// One row to write.
#[derive(Debug)]
pub struct Summary {
    pub client: String,
    pub minute: i64,
    pub app: Option<String>,
    pub details: serde_json::Value,
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n += 1;
    } else if map.len() < MAX_NAMES {
        map.insert(key.to_owned(), 1);
    } else {
        *map.entry(OTHER.to_owned()).or_default() += 1;
    }
}

impl Denials {
    /// Counts one anonymous refusal of `endpoint` from `client` (unknown when the router is
    /// driven without a socket).
    pub fn note(
        &self,
        client: Option<IpAddr>,
        endpoint: &str,
        app: Option<&str>,
        status: u16,
        reason: &str,
    ) {
        let now = OffsetDateTime::now_utc();
        let minute = now.unix_timestamp().div_euclid(60);
        let at = crate::util::format_time(now);
        let mut client = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&(client.clone(), minute)) {
            client = MANY.to_owned();
        }
        let b = buckets.entry((client, minute)).or_insert_with(|| Bucket {
            count: 0,
            first_at: at.clone(),
            last_at: at.clone(),
            endpoints: BTreeMap::new(),
            apps: BTreeMap::new(),
            statuses: BTreeMap::new(),
            reasons: BTreeMap::new(),
        });
        b.count += 1;
        b.last_at = at;
        bump(&mut b.endpoints, endpoint);
        if let Some(app) = app {
            bump(&mut b.apps, app);
        }
        *b.statuses.entry(status).or_default() += 1;
        // Messages are ours and short; cut anyway so that a row stays small.
        bump(
            &mut b.reasons,
            &reason.chars().take(200).collect::<String>(),
        );
    }

    /// Removes and returns the buckets of minutes before `now_minute` (all with `None`).
    pub fn take(&self, now_minute: Option<i64>) -> Vec<Summary> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<(String, i64)> = buckets
            .keys()
            .filter(|(_, m)| now_minute.is_none_or(|now| *m < now))
            .cloned()
            .collect();
        let mut out: Vec<Summary> = keys
            .into_iter()
            .filter_map(|k| buckets.remove(&k).map(|b| (k, b)))
            .map(|((client, minute), b)| summary(client, minute, b))
            .collect();
        out.sort_by(|a, b| (a.minute, &a.client).cmp(&(b.minute, &b.client)));
        out
    }

    /// Writes the finished minutes (or everything, with `all`) as audit rows, in one
    /// transaction. Failures are logged; the counts are then lost, not retried forever.
    pub async fn flush(&self, db: &Db, all: bool) {
        let minute = OffsetDateTime::now_utc().unix_timestamp().div_euclid(60);
        let rows = self.take((!all).then_some(minute));
        if rows.is_empty() {
            return;
        }
        let n = rows.len();
        let res = db
            .write(move |tx| {
                for r in rows {
                    audit::append(
                        tx,
                        Event {
                            actor: "anonymous",
                            action: "auth.denied",
                            app: r.app.as_deref(),
                            subject: Some(&r.client),
                            details: r.details,
                        },
                    )?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = res {
            tracing::warn!("could not record {n} coalesced auth.denied row(s): {e}");
        }
    }

    /// Writes each minute's rows shortly after the minute ends, for as long as it runs.
    pub async fn run_flusher(&self, db: Db) {
        loop {
            let now = OffsetDateTime::now_utc();
            let into_minute = u64::try_from(now.unix_timestamp().rem_euclid(60)).unwrap_or(0);
            // One second past the boundary, so that the finished minute is complete.
            tokio::time::sleep(Duration::from_secs(61 - into_minute)).await;
            self.flush(&db, false).await;
        }
    }
}

fn summary(client: String, minute: i64, b: Bucket) -> Summary {
    let app = (b.apps.len() == 1)
        .then(|| b.apps.keys().next().cloned())
        .flatten()
        .filter(|a| a != OTHER);
    let minute_at = OffsetDateTime::from_unix_timestamp(minute * 60)
        .map(crate::util::format_time)
        .unwrap_or_default();
    let statuses: BTreeMap<String, u64> = b
        .statuses
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    let details = json!({
        "client": client,
        "count": b.count,
        "minute": minute_at,
        "first_at": b.first_at,
        "last_at": b.last_at,
        "endpoints": b.endpoints,
        "apps": b.apps,
        "statuses": statuses,
        "reasons": b.reasons,
    });
    Summary {
        client,
        minute,
        app,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bucket_per_client_and_minute() {
        let d = Denials::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..100 {
            d.note(
                Some(a),
                "release.create",
                Some("acme"),
                401,
                "unknown token",
            );
        }
        d.note(Some(b), "token.create", None, 401, "missing token");
        assert!(d.take(Some(i64::MIN)).is_empty(), "the minute is not over");
        let rows = d.take(None);
        assert_eq!(rows.len(), 2);
        let ra = rows.iter().find(|r| r.client == "192.0.2.1").unwrap();
        assert_eq!(ra.details["count"], 100);
        assert_eq!(ra.details["endpoints"]["release.create"], 100);
        assert_eq!(ra.app.as_deref(), Some("acme"));
        assert_eq!(ra.details["reasons"]["unknown token"], 100);
        assert!(d.take(None).is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let d = Denials::default();
        for i in 0..(MAX_BUCKETS as u32 + 50) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            d.note(Some(ip), &format!("endpoint{}", i % 40), None, 401, "x");
        }
        let rows = d.take(None);
        // Two minutes at most (the loop may cross a boundary), each capped.
        assert!(rows.len() <= 2 * MAX_BUCKETS + 2, "{}", rows.len());
        let total: u64 = rows
            .iter()
            .map(|r| r.details["count"].as_u64().unwrap())
            .sum();
        assert_eq!(total, MAX_BUCKETS as u64 + 50);
        assert!(rows.iter().any(|r| r.client == MANY));
    }
}
