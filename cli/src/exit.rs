//! The documented exit codes and the `--json` error document.
//!
//! Every failure the CLI reports is a [`Failure`]: an exit code CI can branch on, a stable
//! machine code, and a message for people. `main` prints it once: to stderr always, and with
//! `--json` also as `{"schema_version":1,"error":{"code":...,"message":...}}` on stdout, unless
//! the command already printed its own document (a blocked publish prints the publish JSON with
//! the findings instead).

use platform::Finding;
use platform::api::ErrorCode;
use serde::Serialize;

/// Exit codes, as documented in `dist --help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// Usage error, invalid manifest, unreadable local file.
    Usage = 2,
    /// A file was rejected or has error findings (the publish JSON still prints).
    Validation = 3,
    /// Missing or wrong token, or a token without the needed scope, app or channel.
    Auth = 4,
    /// The release exists with different artifacts (or another state conflict).
    Conflict = 5,
    /// Server or network failure after retries.
    Server = 6,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The text block `dist --help` shows after the commands.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  2  usage error or invalid manifest (bad option, missing or malformed dist.json, a path
     escaping the manifest's folder, a glob that matches no file, an unreadable file)
  3  validation failed: a file was rejected or has error findings (the JSON still prints,
     with the findings); `dist audit verify` also exits 3 when the chain is broken
  4  authentication or permission (no token, wrong token, missing scope, app or channel)
  5  conflict: the release exists with different artifacts, or is not in the needed state,
     or the channel points at a newer release (--allow-downgrade moves it back)
  6  server or network failure after retries (unreachable server, 5xx, interrupted upload
     that could not resume, a file that changed while it was uploaded, the server's disk
     is full)

With --json, a failure also prints {\"schema_version\":1,\"error\":{\"code\":...,\"message\":...}}
on stdout; human messages always go to stderr.";

/// A failure with its exit code and stable machine code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub exit: Exit,
    /// Stable machine code: the server's error code when it came from the server
    /// (`forbidden`, `conflict`, ...), else one of the CLI's own (`usage`, `invalid_manifest`,
    /// `network`, `validation_failed`, ...).
    pub code: String,
    pub message: String,
    /// Findings that caused the failure, when there are any.
    pub findings: Vec<Finding>,
    /// The command already printed its JSON document to stdout; don't print the error one.
    pub printed: bool,
}

impl Failure {
    pub fn new(exit: Exit, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            exit,
            code: code.into(),
            message: message.into(),
            findings: Vec::new(),
            printed: false,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, "usage", message)
    }
    pub fn manifest(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, "invalid_manifest", message)
    }
    pub fn validation(message: impl Into<String>, findings: Vec<Finding>) -> Self {
        Self {
            findings,
            ..Self::new(Exit::Validation, "validation_failed", message)
        }
    }
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(Exit::Server, "network", message)
    }
    pub fn with_printed(mut self) -> Self {
        self.printed = true;
        self
    }

    /// The exit code and the machine code a server error maps to.
    pub fn from_server(
        status: u16,
        code: Option<ErrorCode>,
        message: String,
        findings: Vec<Finding>,
    ) -> Self {
        let exit = exit_for_server(status, code);
        let code = match code {
            Some(c) => c.as_str().to_owned(),
            None => format!("http_{status}"),
        };
        Self {
            findings,
            ..Self::new(exit, code, message)
        }
    }

    /// `{"schema_version":1,"error":{"code":...,"message":...[,"findings":[...]]}}`
    pub fn json_document(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Doc<'a> {
            schema_version: u32,
            error: Detail<'a>,
        }
        #[derive(Serialize)]
        struct Detail<'a> {
            code: &'a str,
            message: &'a str,
            #[serde(skip_serializing_if = "<[Finding]>::is_empty")]
            findings: &'a [Finding],
        }
        serde_json::to_value(Doc {
            schema_version: platform::SCHEMA_VERSION,
            error: Detail {
                code: &self.code,
                message: &self.message,
                findings: &self.findings,
            },
        })
        .unwrap_or(serde_json::Value::Null)
    }
}

/// Maps an HTTP answer to an exit code. The error code wins over the status when both are
/// known, so a proxy's bare 502 still reads as a server failure.
pub fn exit_for_server(status: u16, code: Option<ErrorCode>) -> Exit {
    match code {
        Some(ErrorCode::Unauthorized | ErrorCode::Forbidden) => Exit::Auth,
        Some(ErrorCode::Conflict) => Exit::Conflict,
        Some(ErrorCode::ValidationFailed) => Exit::Validation,
        Some(
            ErrorCode::BadRequest
            | ErrorCode::NotFound
            | ErrorCode::MethodNotAllowed
            | ErrorCode::PayloadTooLarge,
        ) => Exit::Usage,
        // A digest or size mismatch after our own retries means the bytes changed under us
        // or were damaged in transit: a transfer failure, not a usage error.
        Some(ErrorCode::DigestMismatch | ErrorCode::SizeMismatch) => Exit::Server,
        Some(
            ErrorCode::Internal
            | ErrorCode::Unavailable
            | ErrorCode::InsufficientStorage
            | ErrorCode::UploadStalled,
        ) => Exit::Server,
        None => match status {
            401 | 403 => Exit::Auth,
            409 => Exit::Conflict,
            422 => Exit::Validation,
            400..=499 => Exit::Usage,
            _ => Exit::Server,
        },
    }
}

/// Turns any error a command returned into a failure; anything not already classified is
/// a local problem (a file that cannot be read or written), reported as a usage error.
pub fn classify(err: &anyhow::Error) -> Failure {
    if let Some(f) = err.downcast_ref::<Failure>() {
        return f.clone();
    }
    if let Some(e) = err.downcast_ref::<crate::client::ApiError>() {
        return e.clone().into();
    }
    Failure::new(Exit::Usage, "error", format!("{err:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_map_to_documented_exits() {
        let cases = [
            (401, Some(ErrorCode::Unauthorized), Exit::Auth),
            (403, Some(ErrorCode::Forbidden), Exit::Auth),
            (409, Some(ErrorCode::Conflict), Exit::Conflict),
            (422, Some(ErrorCode::ValidationFailed), Exit::Validation),
            (400, Some(ErrorCode::BadRequest), Exit::Usage),
            (404, Some(ErrorCode::NotFound), Exit::Usage),
            (400, Some(ErrorCode::DigestMismatch), Exit::Server),
            (500, Some(ErrorCode::Internal), Exit::Server),
            (503, Some(ErrorCode::Unavailable), Exit::Server),
            (507, Some(ErrorCode::InsufficientStorage), Exit::Server),
            (507, None, Exit::Server),
            (408, Some(ErrorCode::UploadStalled), Exit::Server),
            (502, None, Exit::Server),
            (401, None, Exit::Auth),
            (403, None, Exit::Auth),
            (409, None, Exit::Conflict),
            (422, None, Exit::Validation),
            (418, None, Exit::Usage),
        ];
        for (status, code, exit) in cases {
            assert_eq!(exit_for_server(status, code), exit, "{status} {code:?}");
        }
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Usage.code(), 2);
        assert_eq!(Exit::Validation.code(), 3);
        assert_eq!(Exit::Auth.code(), 4);
        assert_eq!(Exit::Conflict.code(), 5);
        assert_eq!(Exit::Server.code(), 6);
    }

    #[test]
    fn json_error_document_shape() {
        let f = Failure::from_server(
            403,
            Some(ErrorCode::Forbidden),
            "token may not promote stable".into(),
            vec![],
        );
        let v = f.json_document();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["error"]["code"], "forbidden");
        assert_eq!(v["error"]["message"], "token may not promote stable");
        assert!(v["error"].get("findings").is_none());
        assert_eq!(v.as_object().unwrap().len(), 2);

        let f = Failure::validation("blocked", vec![Finding::error("x.y", "m")]);
        let v = f.json_document();
        assert_eq!(v["error"]["code"], "validation_failed");
        assert_eq!(v["error"]["findings"][0]["code"], "x.y");
        assert_eq!(f.exit, Exit::Validation);
    }

    #[test]
    fn unclassified_errors_are_usage() {
        let e = anyhow::anyhow!("disk on fire");
        assert_eq!(classify(&e).exit, Exit::Usage);
        let e = anyhow::Error::new(Failure::network("gone"));
        assert_eq!(classify(&e).exit, Exit::Server);
        assert_eq!(classify(&e).code, "network");
    }
}
