//! Validated newtypes. Raw strings from manifests, HTTP bodies and files become one of these at
//! the edge; inner code never re-checks them.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string was refused as one of the newtypes below.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {expected}")]
pub struct InvalidValue {
    pub what: &'static str,
    pub value: String,
    pub expected: Cow<'static, str>,
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $what:literal, $expected:literal, $pattern:literal, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(value: String) -> Result<Self, InvalidValue> {
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidValue { what: $what, value, expected: Cow::Borrowed($expected) })
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidValue;
            fn try_from(value: &str) -> Result<Self, InvalidValue> {
                Self::try_from(value.to_owned())
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(value: &str) -> Result<Self, InvalidValue> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Read-only: a validated string reads as the `str` it is (`Option<Self>::as_deref()`
        /// is an `Option<&str>`); nothing can change it through this.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                string_schema($expected, $pattern)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// The OpenAPI schema of a validated string: what the check accepts, as a pattern a client
/// (and a fuzzer) can generate from.
#[cfg(feature = "openapi")]
fn string_schema(
    description: &str,
    pattern: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .into()
}

fn is_slug(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn is_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'))
}

string_newtype!(
    /// An app's URL-safe name: `acme`, `acme-internal`.
    AppSlug, "app slug", "1 to 64 of a-z, 0-9 and '-', starting with a letter or digit", r"^[a-z0-9][a-z0-9-]{0,63}$",
    |s| is_slug(s, 64)
);
string_newtype!(
    /// A user-facing version: `1.4.0`, `2.0.0-beta.1`.
    Version, "version", "1 to 64 of A-Z, a-z, 0-9, '.', '-', '_', '+', starting with a letter or digit", r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
    |s| is_label(s, 64)
);
string_newtype!(
    /// A build number or label: `1234`, `2026.11.21.3`.
    Build, "build", "1 to 64 of A-Z, a-z, 0-9, '.', '-', '_', '+', starting with a letter or digit", r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
    |s| is_label(s, 64)
);
string_newtype!(
    /// A channel name: `stable`, `beta`, `internal`, `nightly`, any slug.
    ChannelName, "channel name", "1 to 64 of a-z, 0-9 and '-', starting with a letter or digit", r"^[a-z0-9][a-z0-9-]{0,63}$",
    |s| is_slug(s, 64)
);
string_newtype!(
    /// A platform id as a target registers it (`GET /api/v1/platforms` lists them).
    /// Open by design: a new target crate brings a new id.
    PlatformId, "platform", "1 to 32 of a-z, 0-9 and '-'", r"^[a-z0-9][a-z0-9-]{0,31}$",
    |s| is_slug(s, 32)
);
string_newtype!(
    /// An artifact kind as a target declares it (`GET /api/v1/platforms` lists them).
    Kind, "artifact kind", "1 to 32 of a-z, 0-9 and '-'", r"^[a-z0-9][a-z0-9-]{0,31}$",
    |s| is_slug(s, 32)
);
/// A CPU architecture label: `arm64`, `x86_64`, `armeabi-v7a`, `universal`. The names one
/// architecture goes by are read as one (issue 14, item 4): `amd64`, `x64` and `x86-64` are
/// `x86_64`; `aarch64` is `arm64` ([`Arch::canonical_name`]), so a channel URL or manifest may
/// use any of them. Migration 0006 renamed the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Arch(String);

impl Arch {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical spelling of an architecture name (any case of the aliases), or the name
    /// itself when it has no alias. Kept in step with migrations/0006_link.sql.
    pub fn canonical_name(name: &str) -> &str {
        const ALIASES: [(&str, &str); 4] = [
            ("amd64", "x86_64"),
            ("x64", "x86_64"),
            ("x86-64", "x86_64"),
            ("aarch64", "arm64"),
        ];
        ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
            .map(|(_, canonical)| *canonical)
            .or_else(|| {
                ["x86_64", "arm64"]
                    .into_iter()
                    .find(|c| c.eq_ignore_ascii_case(name))
            })
            .unwrap_or(name)
    }
}

impl TryFrom<String> for Arch {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        if is_label(&value, 32) {
            Ok(Self(Self::canonical_name(&value).to_owned()))
        } else {
            Err(InvalidValue {
                what: "arch",
                value,
                expected: Cow::Borrowed("1 to 32 of A-Z, a-z, 0-9, '.', '-', '_', '+'"),
            })
        }
    }
}

impl TryFrom<&str> for Arch {
    type Error = InvalidValue;
    fn try_from(value: &str) -> Result<Self, InvalidValue> {
        Self::try_from(value.to_owned())
    }
}

impl FromStr for Arch {
    type Err = InvalidValue;
    fn from_str(value: &str) -> Result<Self, InvalidValue> {
        Self::try_from(value.to_owned())
    }
}

impl From<Arch> for String {
    fn from(value: Arch) -> String {
        value.0
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Arch {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Arch {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A file name as shown to users and in Content-Disposition: no folders, no leading dot, at
/// most 255 bytes, and no character that hides or reorders what people see (controls, bidi
/// overrides and other invisible format characters, see [`crate::text::is_hidden`]): a name
/// like `invoice\u{202e}fdp.exe` reads as `invoiceexe.pdf` on screen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileName(String);

impl FileName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FileName {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        let shape = !value.is_empty()
            && value.len() <= 255
            && !value.starts_with('.')
            && !value.chars().any(|c| matches!(c, '/' | '\\' | '"'));
        let expected: Cow<'static, str> = if !shape {
            "1 to 255 bytes, no '/', '\\', '\"' or leading '.'".into()
        } else if let Some((at, c)) = crate::text::first_hidden(&value) {
            // Issue 9, item 10: say which character, where, and what to do.
            let kind = if crate::text::char_name(c).is_none() {
                "" // `describe` says what kind it is
            } else if c.is_control() {
                ", a control character"
            } else {
                ", an invisible character that can disguise the name"
            };
            format!(
                "character {at} is {}{kind}; rename the file using visible characters only",
                crate::text::describe(c),
            )
            .into()
        } else {
            return Ok(Self(value));
        };
        Err(InvalidValue {
            what: "file name",
            value,
            expected,
        })
    }
}

impl FromStr for FileName {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::try_from(s.to_owned())
    }
}

impl From<FileName> for String {
    fn from(value: FileName) -> String {
        value.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for FileName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for FileName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A SHA-256 digest, serialised as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256([u8; 32]);

impl Sha256 {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Digest of a byte slice (small inputs: certificates, manifests).
    pub fn digest(data: &[u8]) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(data).into())
    }

    /// Streams a reader to its end and returns (digest, byte count).
    pub fn of_reader(reader: &mut dyn std::io::Read) -> std::io::Result<(Self, u64)> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        Ok((Self(hasher.finalize().into()), total))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.hex())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl FromStr for Sha256 {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let invalid = || InvalidValue {
            what: "sha256",
            value: s.chars().take(80).collect(),
            expected: "64 lowercase hex characters".into(),
        };
        if s.len() != 64
            || !s
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return Err(invalid());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| invalid())?;
        Ok(Self(out))
    }
}

impl TryFrom<String> for Sha256 {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, InvalidValue> {
        value.parse()
    }
}

impl From<Sha256> for String {
    fn from(value: Sha256) -> String {
        value.hex()
    }
}

string_newtype!(
    /// An install mode as a target declares it (see `ModeInfo`): how an artifact reaches a
    /// device. Open by design, like [`Kind`]: which modes exist is the target's word, and the
    /// registry checks a mode against the artifact's target before it is stored.
    InstallMode, "install mode", "1 to 32 of a-z, 0-9 and '-'", r"^[a-z0-9][a-z0-9-]{0,31}$",
    |s| is_slug(s, 32)
);

fn is_id(s: &str, prefix: &str) -> bool {
    s.len() <= 64
        && s.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_alphanumeric()))
}

string_newtype!(
    /// A release's id as distd makes it: `rel_` and 20 hex digits. Validated wherever one
    /// enters (a path, a body, a database row), so a path like `../x` never reaches a lookup.
    ReleaseId, "release id", "rel_ followed by 1 to 60 letters and digits (ids look like rel_0123abcd...)", r"^rel_[A-Za-z0-9]{1,60}$",
    |s| is_id(s, "rel_")
);
string_newtype!(
    /// An artifact's id as distd makes it: `art_` and 20 hex digits.
    ArtifactId, "artifact id", "art_ followed by 1 to 60 letters and digits (ids look like art_0123abcd...)", r"^art_[A-Za-z0-9]{1,60}$",
    |s| is_id(s, "art_")
);
string_newtype!(
    /// A token's id (never its secret): `tok_` and 20 hex digits.
    TokenId, "token id", "tok_ followed by 1 to 60 letters and digits (ids look like tok_0123abcd...)", r"^tok_[A-Za-z0-9]{1,60}$",
    |s| is_id(s, "tok_")
);

/// Ids compare with the strings they are (a row's id with a path segment, say).
macro_rules! id_as_str {
    ($($name:ident),*) => {$(
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    )*};
}

id_as_str!(ReleaseId, ArtifactId, TokenId);

impl ReleaseId {
    /// A fresh id from 10 random bytes (the caller supplies them: `platform` does no I/O).
    pub fn from_random(bytes: [u8; 10]) -> Self {
        Self(format!("rel_{}", hex::encode(bytes)))
    }
}

impl ArtifactId {
    /// A fresh id from 10 random bytes.
    pub fn from_random(bytes: [u8; 10]) -> Self {
        Self(format!("art_{}", hex::encode(bytes)))
    }
}

impl TokenId {
    /// A fresh id from 10 random bytes.
    pub fn from_random(bytes: [u8; 10]) -> Self {
        Self(format!("tok_{}", hex::encode(bytes)))
    }
}

/// Checks the shape every link artifact shares: an absolute `https://` URL with a host, at
/// most 2048 bytes, no spaces or control characters. Which links a platform takes (which
/// hosts, which paths) is its target's word, through `Target::link_artifact`.
pub fn validate_link(url: &str) -> Result<(), InvalidValue> {
    let host = url
        .strip_prefix("https://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = url.len() <= 2048
        && host.is_some_and(|h| !h.is_empty())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(InvalidValue {
            what: "link",
            value: url.chars().take(200).collect(),
            expected: "an https:// URL with a host, at most 2048 bytes, without spaces".into(),
        })
    }
}

#[cfg(feature = "openapi")]
mod schemas {
    //! Schemas of the hand-written newtypes (the macro's carry their own).
    use super::*;

    macro_rules! schema {
        ($name:ident, $description:literal, $pattern:literal) => {
            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    string_schema($description, $pattern)
                }
            }
            impl utoipa::ToSchema for $name {}
        };
    }

    schema!(
        Arch,
        "a CPU architecture; amd64, x64 and x86-64 are read as x86_64, aarch64 as arm64",
        r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$"
    );
    schema!(
        FileName,
        "a file name: 1 to 255 bytes, no '/', '\\', '\"' or leading '.', and no control or invisible character (bidi overrides, zero-width spaces)",
        r#"^[^./\\"\x00-\x1f\x7f-\x9f][^/\\"\x00-\x1f\x7f-\x9f]{0,254}$"#
    );
    schema!(
        Sha256,
        "a SHA-256 digest as 64 lowercase hex characters",
        r"^[0-9a-f]{64}$"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14, item 4: one architecture, one stored name.
    #[test]
    fn arch_aliases_read_as_one_name() {
        for (given, stored) in [
            ("amd64", "x86_64"),
            ("x64", "x86_64"),
            ("X86_64", "x86_64"),
            ("x86-64", "x86_64"),
            ("x86_64", "x86_64"),
            ("aarch64", "arm64"),
            ("ARM64", "arm64"),
            ("arm64", "arm64"),
            ("armeabi-v7a", "armeabi-v7a"),
            ("universal", "universal"),
        ] {
            assert_eq!(Arch::try_from(given).unwrap().as_str(), stored, "{given}");
        }
        let v: Arch = serde_json::from_str("\"amd64\"").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"x86_64\"");
        assert!(Arch::try_from("arm 64").is_err());
    }

    #[test]
    fn slugs() {
        assert!(AppSlug::try_from("acme").is_ok());
        assert!(AppSlug::try_from("acme-2").is_ok());
        assert!(AppSlug::try_from("-acme").is_err());
        assert!(AppSlug::try_from("Acme").is_err());
        assert!(AppSlug::try_from("").is_err());
        assert!(AppSlug::try_from("a/b").is_err());
        assert!(AppSlug::try_from("a".repeat(65)).is_err());
    }

    #[test]
    fn versions() {
        assert!(Version::try_from("1.4.0").is_ok());
        assert!(Version::try_from("2.0.0-beta.1+meta").is_ok());
        assert!(Version::try_from("../1").is_err());
        assert!(Build::try_from("1234").is_ok());
        assert!(Build::try_from("12 34").is_err());
    }

    #[test]
    fn file_names() {
        assert!(FileName::try_from("app-release.apk".to_owned()).is_ok());
        assert!(FileName::try_from("../x".to_owned()).is_err());
        assert!(FileName::try_from("a/b".to_owned()).is_err());
        assert!(FileName::try_from("a\"b".to_owned()).is_err());
        assert!(FileName::try_from(".hidden".to_owned()).is_err());
        assert!(FileName::try_from("שלום-release.apk".to_owned()).is_ok());
        assert!(FileName::try_from("a\u{a0}b.apk".to_owned()).is_ok());
    }

    /// Issue 9, item 10: bidi overrides and other invisible characters in file names.
    #[test]
    fn file_names_with_hidden_characters_are_refused_by_name() {
        let e = FileName::try_from("invoice\u{202e}kpa.exe".to_owned()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("U+202E RIGHT-TO-LEFT OVERRIDE"), "{msg}");
        assert!(msg.contains("character 8"), "{msg}");
        assert!(msg.contains("rename the file"), "{msg}");
        // The message itself shows the name escaped, never the raw override.
        assert!(!msg.contains('\u{202e}'), "{msg}");
        assert!(msg.contains("invoice\\u{202e}kpa.exe"), "{msg}");

        for (name, named) in [
            ("a\u{2066}b.apk", "U+2066 LEFT-TO-RIGHT ISOLATE"),
            ("a\u{200f}b.apk", "U+200F RIGHT-TO-LEFT MARK"),
            ("a\u{61c}b.apk", "U+061C ARABIC LETTER MARK"),
            ("a\u{200b}b.apk", "U+200B ZERO WIDTH SPACE"),
            ("a\u{feff}b.apk", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
            ("a\u{2062}b.apk", "U+2062 (an invisible format character)"),
            ("a\u{1b}[31mb.apk", "U+001B ESCAPE"),
            ("a\nb.apk", "U+000A LINE FEED"),
            ("a\u{85}b.apk", "U+0085 NEXT LINE"),
            ("a\u{7f}b.apk", "U+007F DELETE"),
            ("a\u{2028}b.apk", "U+2028 LINE SEPARATOR"),
        ] {
            let msg = FileName::try_from(name.to_owned()).unwrap_err().to_string();
            assert!(msg.contains(named), "{name:?}: {msg}");
        }
        // Through serde (distd's API and dist.json read names this way) the same message.
        let e = serde_json::from_str::<FileName>("\"x\\u202eipa.apk\"").unwrap_err();
        assert!(
            e.to_string().contains("U+202E RIGHT-TO-LEFT OVERRIDE"),
            "{e}"
        );
    }

    #[test]
    fn links() {
        assert!(validate_link("https://store.example/join/ABCDEFGH").is_ok());
        assert!(validate_link("http://store.example/join/ABCDEFGH").is_err());
        assert!(validate_link("https:///path").is_err());
        assert!(validate_link("https://a.example/x y").is_err());
        assert!(validate_link(&format!("https://a.example/{}", "x".repeat(2048))).is_err());
    }

    /// Issue 14, item 6: ids are checked once, at the edge, with the bad value named.
    #[test]
    fn ids_have_their_prefix_and_nothing_else() {
        assert!(ReleaseId::try_from("rel_0123456789abcdef0123").is_ok());
        assert!(ArtifactId::try_from("art_0123456789abcdef0123").is_ok());
        assert!(TokenId::try_from("tok_0123456789abcdef0123").is_ok());
        for bad in ["rel_", "art_0123", "rel_../x", "rel_a b", "REL_abc", ""] {
            let e = ReleaseId::try_from(bad).unwrap_err();
            assert!(e.to_string().contains("release id"), "{e}");
        }
        assert!(ReleaseId::try_from(format!("rel_{}", "a".repeat(61))).is_err());
        let fresh = ArtifactId::from_random([0xab; 10]);
        assert_eq!(fresh.as_str(), "art_abababababababababab");
        let v: ReleaseId = serde_json::from_str("\"rel_abc\"").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"rel_abc\"");
        assert!(serde_json::from_str::<ReleaseId>("\"art_abc\"").is_err());
    }

    #[test]
    fn install_modes_are_slugs() {
        assert!(InstallMode::try_from("artifact-only").is_ok());
        assert!(InstallMode::try_from("Magic!").is_err());
        assert!(InstallMode::try_from("").is_err());
    }

    #[test]
    fn sha256_round_trip() {
        let d = Sha256::digest(b"abc");
        assert_eq!(
            d.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.hex().parse::<Sha256>().unwrap(), d);
        assert!(
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
                .parse::<Sha256>()
                .is_err()
        );
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Sha256>(&json).unwrap(), d);
    }
}
