//! The `distd` binary. The `use` line links every platform target (through `dist-targets`,
//! the one crate that names them) into the registry.

use dist_targets as _;

/// mimalloc: with glibc's allocator about an eighth of a cached lookup's samples went to
/// malloc and free, and mimalloc served 15% more lookups (`bench/pages.sh`, issue 20).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Before anything is created: the data folder is the service user's alone.
    server::perms::restrict_umask();
    let code = server::cli::main();
    // Request lines still waiting in a batch.
    server::logfile::flush();
    code
}
