//! One module per command group.

pub mod app;
pub mod audit;
pub mod channel;
pub mod ci_publish;
pub mod download;
pub mod inspect;
pub mod manifest;
pub mod release;
pub mod token;

/// Seconds since the Unix epoch, for the targets' expiry checks.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
