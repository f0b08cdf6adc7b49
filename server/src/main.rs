//! The `distd` binary. The two `use` lines link the platform targets into the registry;
//! nothing else here names a target.

use target_android as _;
use target_ios as _;

fn main() -> std::process::ExitCode {
    // Before anything is created: the data folder is the service user's alone.
    server::perms::restrict_umask();
    server::cli::main()
}
