//! Small helpers shared by modules: time stamps and random ids.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, RFC 3339 UTC with microseconds (sorts as text).
pub fn now() -> String {
    format_time(OffsetDateTime::now_utc())
}

pub fn format_time(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.microsecond() * 1000)
        .unwrap_or(t)
        .to_offset(time::UtcOffset::UTC);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Fills `buf` from the OS random source.
pub fn random_bytes(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(|e| std::io::Error::other(e.to_string()))
}

/// An opaque id such as `rel_4f1c0d2e9a7b3c5d8e6f`: prefix plus 80 random bits in hex.
pub fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 10];
    if random_bytes(&mut b).is_err() {
        // The OS random source failing is not recoverable for token secrets, but ids only
        // need uniqueness; fall back to the clock plus a counter.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let t = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
        b[..8].copy_from_slice(&(t ^ N.fetch_add(1, Ordering::Relaxed)).to_be_bytes());
    }
    format!("{prefix}_{}", hex::encode(b))
}
