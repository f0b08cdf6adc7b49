//! What an install page may offer: targets answer with [`InstallAction`]s as plain data, each
//! with its honest caveats; the page renders them and never invents its own.

use serde::{Deserialize, Serialize};

use crate::{Arch, FileName, Inspection, InstallMode, Kind, Sha256};

/// The browser asking for an install page. Which device that is, is each target's own reading
/// of the User-Agent ([`Client::user_agent_names`]): coarse, good enough to order install
/// actions, never used for access decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Client {
    /// The User-Agent header, lowercased and cut to [`Client::MAX_USER_AGENT`] bytes (private,
    /// so that every `Client` is made by [`Client::new`] and compares in lowercase).
    user_agent: String,
}

impl Client {
    /// The part of a User-Agent kept: real ones are a few hundred bytes.
    pub const MAX_USER_AGENT: usize = 512;

    pub fn new(user_agent: &str) -> Self {
        let mut end = user_agent.len().min(Self::MAX_USER_AGENT);
        while !user_agent.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            user_agent: user_agent[..end].to_lowercase(),
        }
    }

    /// The User-Agent as kept: lowercased, bounded.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// Whether the User-Agent contains any of `words` (give them in lowercase).
    pub fn user_agent_names(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.user_agent.contains(w))
    }
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
    /// The notarization submission listed with the file, if any.
    pub notarization: Option<&'a crate::Notarization>,
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

/// One line a target adds to an install page about an artifact (`Requires`: `ToyOS 15.0 or
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

/// The devices an artifact installs on when only registered ones may (an ad hoc profile's
/// UDIDs), with the words a page needs to let a person check theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceList {
    /// The registered ids; a pasted id matches one case-insensitively.
    pub ids: Vec<String>,
    /// What a person pastes (`UDID`).
    pub id_name: String,
    /// Where a person finds it.
    pub where_to_find: String,
    /// What follows for a device that is not listed, and what to do.
    pub not_listed: String,
}

impl DeviceList {
    /// Whether `id` is one of the registered ids.
    pub fn lists(&self, id: &str) -> bool {
        self.ids.iter().any(|d| d.eq_ignore_ascii_case(id.trim()))
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
    fn clients_are_read_from_a_bounded_user_agent() {
        let c = Client::new("Mozilla/5.0 (Toyphone; ToyOS 3)");
        assert!(c.user_agent_names(&["tablet", "toyphone"]));
        assert!(!c.user_agent_names(&["tablet"]));
        let long = format!("{}é{}", "a".repeat(Client::MAX_USER_AGENT - 1), "Toyphone");
        let c = Client::new(&long);
        assert_eq!(
            c.user_agent.len(),
            Client::MAX_USER_AGENT - 1,
            "cut on a char boundary"
        );
        assert!(!c.user_agent_names(&["toyphone"]));
    }

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
