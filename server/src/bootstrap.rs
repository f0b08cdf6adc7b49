//! The first admin token's secret, created on a first start with no tokens, goes where only
//! the operator sees it: `DATA/initial-admin-token` (0600) always, and standard output only
//! when that is a terminal. The log says where the secret is, never the secret: container
//! logs are kept forever and read by whoever can read the NAS's log viewer.

use std::io::{IsTerminal, Write};
use std::path::Path;

/// Tells the operator about a freshly created admin token whose secret is already in `file`.
pub fn announce(token_id: &str, secret: &str, file: &Path) {
    let stdout = std::io::stdout();
    let on_terminal = stdout.is_terminal();
    if on_terminal {
        let mut out = stdout.lock();
        let _ = writeln!(
            out,
            "\nno tokens existed: created admin token {token_id}; its secret (shown once here):\n\n  {secret}\n\nIt is also in {}; store it and delete the file.\n",
            file.display()
        );
        let _ = out.flush();
    }
    tracing::warn!(
        "no tokens existed: created admin token {token_id}; its secret is in {} (mode 0600){}; store it and delete the file",
        file.display(),
        if on_terminal {
            " and was printed to the terminal"
        } else {
            ""
        }
    );
}
