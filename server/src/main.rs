//! The `distd` binary. The `use` line links every platform target (through `dist-targets`,
//! the one crate that names them) into the registry.

use dist_targets as _;

fn main() -> std::process::ExitCode {
    // Before anything is created: the data folder is the service user's alone.
    server::perms::restrict_umask();
    server::cli::main()
}
