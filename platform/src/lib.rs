//! The bottom of the dist workspace: domain newtypes, the `Target` contract and its registry,
//! the Inspection JSON contract, the `dist.json` manifest and the HTTP API types that `distd`
//! and `dist` share, the one rule for characters that hide or reorder text ([`text`]), the one
//! decision whether a file may join a release ([`admission`]), whether its architectures fit
//! the one it is listed under ([`arch`]), which file a channel URL names ([`channel`]) and
//! which device a page is open on and how an artifact fits it ([`device`]), and what a
//! file's listed notarization submission means ([`notarization`]).
//!
//! This crate owns *shapes and rules*, not behaviour: it never opens a socket, a database or a
//! path on disk. The only I/O it does is through `Read + Seek` handed to it (to build a
//! [`Probe`] for detection and to hand a file to its target). Platform knowledge lives in `targets/*`, which register
//! themselves with [`inventory`] and are found through [`registry()`]; nothing here names a
//! platform by hand. It depends on three format crates, for detection only: `formats/zip`
//! to list a zip's members, `formats/compress` and `formats/tar` to list a tar stream's
//! first entries; it never depends on a target. Its `openapi` feature (distd's only) derives
//! the OpenAPI schemas of the API types; `dist` builds without it.

pub mod admission;
pub mod api;
pub mod arch;
pub mod channel;
pub mod device;
pub mod diff;
pub mod identity;
pub mod inspection;
pub mod install;
pub mod limits;
pub mod manifest;
pub mod notarization;
pub mod probe;
pub mod registry;
pub mod text;
pub mod types;
pub mod units;
pub mod versions;

/// The one zip reader lives in `formats/zip`; detection builds its [`Probe`] with it.
pub use admission::{Admission, Verdict, admit};
pub use device::{Device, DeviceOs, Fit, FitRank};
pub use format_zip::InflateBudget;
pub use identity::{IdentityFact, IdentityRules, PlatformRules};
pub use inspection::{
    Finding, Inspected, Inspection, Parse, ReadFailure, Severity, Signature, SignatureState, Signer,
};
pub use install::{
    ActionKind, ArtifactView, Client, DeviceList, Document, InstallAction, Links, PageFact,
    shell_quote,
};
pub use limits::Limits;
pub use notarization::{Notarization, NotarizationStatus};
pub use probe::Probe;
pub use registry::{
    DetectError, Detection, InspectContext, InspectError, KindInfo, ModeInfo, ReadSeek, Registry,
    Target, TargetRegistration, TrustedKey, apply_install_mode, registry, unpublishable,
};
pub use types::*;

/// The one schema version of `dist.json`, the Inspection JSON and every JSON output.
pub const SCHEMA_VERSION: u32 = 1;

/// The version of what the targets conclude about the same bytes. Bump it whenever a change
/// can turn a stored verdict (a signature state, a finding) into another: `distd` re-inspects
/// every stored artifact in the background when it starts under a version no finished run
/// has recorded. 1: before issue 10; 2: issue 10, "Signature truth" (JAR .SF coverage, the
/// strict zip reader, IPA seals and nested code, every APK signer, the decompression budget);
/// 3: issue 18 (a file built for another architecture than its release lists it under).
pub const INSPECTOR_VERSION: u32 = 3;
