//! The one error type of the server. Services return it; `http` turns it into
//! `{"error":{"code","message"}}` (the only `IntoResponse` for it). Internal errors are logged
//! here, once, and the client sees a generic message: no SQL, paths or OS text leak out.

use platform::Finding;
use platform::api::ErrorCode;

#[derive(Debug)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub findings: Vec<Finding>,
    /// For a wrong resume offset: where the server's copy ends.
    pub upload_offset: Option<u64>,
    /// 410 Gone (a revoked release): the contract has no code of its own for it, so the
    /// body says `not_found` and the status says gone.
    pub gone: bool,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            findings: Vec::new(),
            upload_offset: None,
            gone: false,
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, m)
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, m)
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, m)
    }
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, m)
    }
    pub fn gone(m: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorCode::NotFound, m);
        e.gone = true;
        e
    }
    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.upload_offset = Some(offset);
        self
    }
    /// Logs the real cause and hides it from the client.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {err}");
        Self::new(
            ErrorCode::Internal,
            "internal error; the server log has the details",
        )
    }
    pub fn unavailable(m: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, m)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

/// The one place database errors become API errors: constraint and trigger violations are
/// conflicts (409), with a message we wrote, never SQLite's own text; anything else is a 500.
impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode as C;
        if let rusqlite::Error::SqliteFailure(err, msg) = &e {
            match err.code {
                C::ConstraintViolation => {
                    let trigger = err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_TRIGGER;
                    let text = msg.as_deref().unwrap_or("");
                    let message = if trigger {
                        // Our own trigger messages (migrations/*.sql) are safe to show.
                        text.to_owned()
                    } else if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY {
                        return Self::invalid("refers to something that does not exist");
                    } else {
                        "conflicts with existing data".to_owned()
                    };
                    return Self::conflict(message);
                }
                C::DatabaseBusy | C::DatabaseLocked => {
                    return Self::unavailable("database busy; retry");
                }
                C::DiskFull => {
                    tracing::warn!("database: the data folder's disk is full");
                    return Self::new(
                        ErrorCode::InsufficientStorage,
                        "the server's disk is full; an admin frees space (distd gc removes unreferenced files)",
                    );
                }
                C::ReadOnly => {
                    return Self::unavailable(
                        "the database is read-only for distd; an admin fixes its owner, mode or mount and restarts distd",
                    );
                }
                _ => {}
            }
        }
        if let rusqlite::Error::FromSqlConversionFailure(_, _, cause) = &e
            && let Some(bad) = cause.downcast_ref::<crate::db::CorruptRow>()
        {
            // Issue 14, item 6: a row that no longer reads back is named, never skipped.
            tracing::error!("database: {bad}");
            return Self::new(
                ErrorCode::Internal,
                format!(
                    "internal error: the stored {} does not read back (column {}); the server log has the details",
                    bad.row, bad.column
                ),
            );
        }
        Self::internal("database", e)
    }
}
