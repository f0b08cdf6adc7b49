//! What an install page may offer: targets answer with [`InstallAction`]s as plain data, each
//! with its honest caveats; the page renders them and never invents its own.

use serde::{Deserialize, Serialize};

use crate::{Arch, FileName, Inspection, InstallMode, Kind, Sha256};

/// The operating system of the browser asking for an install page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientOs {
    Ios,
    Ipados,
    Android,
    Macos,
    Windows,
    Linux,
    Other,
}

impl ClientOs {
    /// A coarse reading of a User-Agent header; good enough to order install actions, never
    /// used for access decisions.
    pub fn from_user_agent(ua: &str) -> Self {
        let ua = ua.to_ascii_lowercase();
        if ua.contains("iphone") || ua.contains("ipod") {
            Self::Ios
        } else if ua.contains("ipad") {
            Self::Ipados
        } else if ua.contains("android") {
            Self::Android
        } else if ua.contains("windows") {
            Self::Windows
        } else if ua.contains("mac os x") || ua.contains("macintosh") {
            Self::Macos
        } else if ua.contains("linux") || ua.contains("x11") {
            Self::Linux
        } else {
            Self::Other
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub os: ClientOs,
}

/// Absolute URLs the server built for one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// `DIST_PUBLIC_URL` (or the listen address), without a trailing slash.
    pub base: String,
    pub download: String,
    /// The artifact's icon, if it has one.
    pub icon: Option<String>,
    /// Prefix under which `Target::document` answers: `{documents}/{name}`. It may end in a
    /// query (`?token=...`) that every document link keeps: a device fetching an OTA manifest
    /// sends no Authorization header.
    pub documents: String,
}

impl Links {
    /// True when links are absolute `https://` URLs (some devices refuse installs over http).
    pub fn is_https(&self) -> bool {
        self.base.starts_with("https://")
    }
    /// A shell command that saves the artifact as `file`, for commands people copy from an
    /// install page: `curl -fL -o 'file' 'url'`, every word quoted.
    pub fn download_command(&self, file: &str) -> String {
        format!(
            "curl -fL -o {} {}",
            shell_quote(file),
            shell_quote(&self.download)
        )
    }

    pub fn document(&self, name: &str) -> String {
        match self.documents.split_once('?') {
            Some((path, query)) => format!("{path}/{name}?{query}"),
            None => format!("{}/{}", self.documents, name),
        }
    }
}

/// Quotes one word for a POSIX shell. File names come from whoever published the artifact and
/// may hold quotes, `;` or `$(...)`: a command pasted from a page must run only what it says.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// What a target needs to know of a stored artifact to offer installs or serve documents.
#[derive(Debug, Clone)]
pub struct ArtifactView<'a> {
    pub id: &'a str,
    pub file_name: Option<&'a FileName>,
    pub kind: &'a Kind,
    pub size: u64,
    pub sha256: Option<&'a Sha256>,
    pub arch: Option<&'a Arch>,
    pub install_mode: Option<InstallMode>,
    pub link: Option<&'a str>,
    pub inspection: Option<&'a Inspection>,
    /// Display name of the app, from the server's records.
    pub app_name: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Open a URL: a web page, a store or beta-testing invite, or a URL scheme the device's
    /// own installer answers (the target builds it and says so in the label and caveats).
    OpenUrl,
    /// Download the file.
    Download,
    /// A command to copy into a terminal.
    CopyCommand,
}

/// One thing the install page may offer, with its caveats. `available: false` actions are
/// still shown, greyed, with `reason` saying why (for example, OTA over plain http).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallAction {
    pub kind: ActionKind,
    pub label: String,
    pub url: Option<String>,
    pub command: Option<String>,
    pub available: bool,
    pub reason: Option<String>,
    pub caveats: Vec<String>,
    /// Sorts actions: the one for this client first.
    pub primary: bool,
}

impl InstallAction {
    /// A plain download of the file; every artifact has one.
    pub fn download(links: &Links, label: impl Into<String>) -> Self {
        Self {
            kind: ActionKind::Download,
            label: label.into(),
            url: Some(links.download.clone()),
            command: None,
            available: true,
            reason: None,
            caveats: Vec::new(),
            primary: false,
        }
    }
}

/// One line a target adds to an install page about an artifact (`Requires`: `iOS 15.0 or
/// later`). Plain text: the page escapes both parts and owns the markup, so a target never
/// writes HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageFact {
    pub label: String,
    pub value: String,
}

impl PageFact {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// A document a target serves for an artifact (an over-the-air install manifest, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(shell_quote("app.apk"), "'app.apk'");
        assert_eq!(shell_quote("it's; rm -rf ~"), r"'it'\''s; rm -rf ~'");
        let l = Links {
            base: "https://d.example".into(),
            download: "https://d.example/dl?token=a".into(),
            icon: None,
            documents: String::new(),
        };
        assert_eq!(
            l.download_command("x'y.apk"),
            r"curl -fL -o 'x'\''y.apk' 'https://d.example/dl?token=a'"
        );
    }

    #[test]
    fn document_links_keep_the_query() {
        let mut l = Links {
            base: "https://d.example".into(),
            download: "https://d.example/dl".into(),
            icon: None,
            documents: "https://d.example/i/art_1".into(),
        };
        assert_eq!(
            l.document("manifest.plist"),
            "https://d.example/i/art_1/manifest.plist"
        );
        l.documents.push_str("?token=dist_x");
        assert_eq!(
            l.document("manifest.plist"),
            "https://d.example/i/art_1/manifest.plist?token=dist_x"
        );
    }
}
