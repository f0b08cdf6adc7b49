//! The `distd` binary. The two `use` lines link the platform targets into the registry;
//! nothing else here names a target.

use target_android as _;
use target_ios as _;

fn main() -> std::process::ExitCode {
    server::cli::main()
}
