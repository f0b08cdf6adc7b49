//! `ui`: the HTML distd serves, as askama templates checked at compile time, and the static
//! assets those pages use (one stylesheet and one small script, embedded in the binary):
//! install, release, channel, app and error pages, release notes rendered from Markdown and
//! sanitised, QR codes. Pages extend `base.html`, whose blocks are `title`, `head`,
//! `main_class` and `main`. The admin console's pages ([`admin`]) have their own stylesheet
//! and one copy-button script.
//!
//! It owns markup and styling only. It must not know HTTP, the database or any target: the
//! server hands it plain values, and every word about a platform (its name, a kind's or an
//! install mode's description, install actions, their caveats, facts such as what a build
//! requires) arrives as data its target declared, the same data `GET /api/v1/platforms` and
//! `Target::install_actions` give. No target writes HTML: each action kind has its own
//! template here, and askama escapes every value.

pub mod admin;
mod choices;
mod error;
mod install;
mod release;

pub use askama::Template;
pub use choices::{ChannelChoices, Choice};
pub use error::ErrorPage;
pub use install::{ActionItem, FileFacts, InstallPage, TargetPart};
pub use release::{
    AppPage, ArtifactSection, ChannelLine, DeviceAnswer, DeviceCheck, ReleasePage, SCRIPT,
    SCRIPT_PATH, SourceFacts, notes_html, qr_svg,
};

use std::borrow::Cow;

/// Where the server serves [`STYLESHEET`]; pages link to it.
pub const STYLESHEET_PATH: &str = "/static/dist.css";
/// The stylesheet every page uses.
pub const STYLESHEET: &str = include_str!("../static/dist.css");

/// Text that came from an artifact, a publisher or a target, as a page shows it: characters
/// that hide or reorder text (bidi controls, ...) written visibly (`\u{202e}`), so a file
/// named `invoice\u{202e}fdp.exe` cannot read as `invoiceexe.pdf`. Askama then escapes it.
fn shown(text: &str) -> Cow<'_, str> {
    platform::text::escape_hidden(text)
}

/// [`shown`] for text whose line breaks are kept (release notes).
fn shown_lines(text: &str) -> String {
    text.lines()
        .map(|l| platform::text::escape_hidden(l))
        .collect::<Vec<_>>()
        .join("\n")
}
