//! The one place that names the platform targets. `distd` and `dist` depend on this crate
//! and write `use dist_targets as _;`; each line below links one target's `inventory`
//! registration into them, and `platform::registry()` finds it from there. Nothing else in
//! the workspace names a target.
//!
//! Adding a target: its crate under `targets/`, one dependency line in this crate's
//! `Cargo.toml` and one `use` line here (`docs/ARCHITECTURE.md`, "Adding a target"). This
//! crate holds no code of its own and must not grow any: detection, inspection and install
//! advice live in the targets, shapes in `platform`.

use target_android as _;
use target_ios as _;
use target_linux as _;
use target_macos as _;
use target_windows as _;

/// Test builds only: the `toy` feature is turned on by dev-dependencies. Public so that
/// tests can write toy files.
#[cfg(feature = "toy")]
pub use dist_toy_target as toy;
