//! Characters that hide or reorder what a reader sees, and characters XML 1.0 cannot carry.
//!
//! One rule set for every edge where text from an artifact or a server meets a person or a
//! document (issue 9, items 9 and 10):
//! - the CLI's human output shows every [hidden](is_hidden) character visibly, through
//!   [`Visible`] / [`escape_hidden`] (JSON output keeps the data as it is);
//! - names (file names) refuse them, naming the character with [`describe`];
//! - XML documents built from metadata (an OTA manifest a target serves) pass their strings
//!   through [`xml_text`], so a control character in an Info.plist value cannot make the
//!   document malformed.
//!
//! "Hidden" means: a control character (C0, DEL, C1), an invisible format character (Unicode
//! general category Cf: the bidi embeddings, overrides and isolates, LRM, RLM, ALM, zero-width
//! characters, the byte order mark, tag characters), or the line and paragraph separators
//! U+2028 and U+2029. The Cf table follows Unicode 16.

use std::borrow::Cow;
use std::fmt;

/// Unicode general category Cf (format), as of Unicode 16.
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` is an invisible format character (Unicode general category Cf).
pub fn is_format(c: char) -> bool {
    let c = u32::from(c);
    FORMAT
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether `c` is a bidi control: an embedding, override or isolate (U+202A to U+202E,
/// U+2066 to U+2069) or a mark (LRM, RLM, ALM).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether `c` hides or reorders what a reader sees: a control character (C0, DEL, C1), an
/// invisible format character (Cf, bidi controls included), or U+2028 / U+2029.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The Unicode name of the hidden characters people meet most, for messages.
pub fn char_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\0' => "NULL",
        '\u{7}' => "BELL",
        '\u{8}' => "BACKSPACE",
        '\t' => "CHARACTER TABULATION",
        '\n' => "LINE FEED",
        '\r' => "CARRIAGE RETURN",
        '\u{1B}' => "ESCAPE",
        '\u{7F}' => "DELETE",
        '\u{85}' => "NEXT LINE",
        '\u{9B}' => "CONTROL SEQUENCE INTRODUCER",
        '\u{AD}' => "SOFT HYPHEN",
        '\u{61C}' => "ARABIC LETTER MARK",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        _ => return None,
    })
}

/// `U+202E RIGHT-TO-LEFT OVERRIDE`; for characters without a name here, the code point and
/// what kind of character it is (`U+2062 (an invisible format character)`).
pub fn describe(c: char) -> String {
    let code = format!("U+{:04X}", u32::from(c));
    match char_name(c) {
        Some(name) => format!("{code} {name}"),
        None if c.is_control() => format!("{code} (a control character)"),
        None if is_format(c) => format!("{code} (an invisible format character)"),
        None => code,
    }
}

/// The first hidden character of `s` and its position (counted in characters, from 1).
pub fn first_hidden(s: &str) -> Option<(usize, char)> {
    s.chars()
        .enumerate()
        .find(|(_, c)| is_hidden(*c))
        .map(|(i, c)| (i + 1, c))
}

/// `s` with every hidden character shown visibly: `\n`, `\r`, `\t`, else `\u{202e}` (the
/// form Rust's `{:?}` uses). Borrows when there is nothing to escape.
pub fn escape_hidden(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_hidden(c) => {
            use fmt::Write;
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Shows a string with its hidden characters escaped (see [`escape_hidden`]); width, fill and
/// alignment apply to the escaped text.
#[derive(Debug, Clone, Copy)]
pub struct Visible<'a>(pub &'a str);

impl fmt::Display for Visible<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&escape_hidden(self.0))
    }
}

/// Whether XML 1.0 can carry `c` (its `Char` production: tab, line feed, carriage return,
/// U+0020 to U+D7FF, U+E000 to U+FFFD, U+10000 and above). Not even a character reference
/// can carry the others.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` ready to be XML text: every character XML 1.0 cannot carry is written visibly as
/// `\u{1b}` (so the document stays well-formed and the value stays recognisable). Markup
/// characters (`<`, `&`) are left to the XML writer.
pub fn xml_text(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_xml_char(c) {
            out.push(c);
        } else {
            use fmt::Write;
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_table_is_sorted_and_disjoint() {
        for w in FORMAT.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:x?}");
        }
    }

    #[test]
    fn hidden_characters() {
        for c in [
            '\0',
            '\u{7}',
            '\n',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{9b}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{2028}',
            '\u{2029}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{2064}',
            '\u{feff}',
            '\u{e0041}',
            '\u{1343f}',
        ] {
            assert!(is_hidden(c), "{:?} is hidden", c);
        }
        for c in [
            'a', ' ', 'é', 'ש', 'ا', '中', '😀', '\u{a0}', '\u{2070}', '\u{fffd}',
        ] {
            assert!(!is_hidden(c), "{c:?} is visible");
        }
        for c in [
            '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{61c}',
        ] {
            assert!(is_bidi_control(c) && is_format(c), "{c:?}");
        }
        assert!(!is_bidi_control('\u{200d}'));
    }

    #[test]
    fn escapes_show_what_was_there() {
        assert_eq!(escape_hidden("plain.apk"), "plain.apk");
        assert!(matches!(escape_hidden("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_hidden("app\u{202e}kpa.exe"), "app\\u{202e}kpa.exe");
        assert_eq!(
            escape_hidden("\u{1b}]0;owned\u{7}\u{1b}[2J"),
            "\\u{1b}]0;owned\\u{7}\\u{1b}[2J"
        );
        assert_eq!(escape_hidden("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(escape_hidden("\u{9b}31m\u{7f}"), "\\u{9b}31m\\u{7f}");
        assert_eq!(
            escape_hidden("\u{2066}x\u{2069}\u{200f}"),
            "\\u{2066}x\\u{2069}\\u{200f}"
        );
        // Right-to-left text itself is data, not a control: it stays.
        assert_eq!(escape_hidden("שלום مرحبا"), "שלום مرحبا");
        // Escaping twice changes nothing more.
        let once = escape_hidden("a\u{202e}\u{1b}b").into_owned();
        assert_eq!(escape_hidden(&once), once);
    }

    #[test]
    fn visible_pads_the_escaped_text() {
        assert_eq!(format!("[{:<8}]", Visible("a\u{7}")), "[a\\u{7}  ]");
        assert_eq!(format!("{}", Visible("ok")), "ok");
    }

    #[test]
    fn descriptions_name_the_character() {
        assert_eq!(describe('\u{202e}'), "U+202E RIGHT-TO-LEFT OVERRIDE");
        assert_eq!(describe('\u{1b}'), "U+001B ESCAPE");
        assert_eq!(describe('\u{1}'), "U+0001 (a control character)");
        assert_eq!(
            describe('\u{2062}'),
            "U+2062 (an invisible format character)"
        );
        assert_eq!(first_hidden("ab\u{202e}c"), Some((3, '\u{202e}')));
        assert_eq!(first_hidden("abc"), None);
    }

    #[test]
    fn xml_text_keeps_what_xml_carries() {
        assert_eq!(xml_text("Acme & <Co> \t\n"), "Acme & <Co> \t\n");
        assert_eq!(
            xml_text("a\u{1}b\u{1b}c\u{fffe}"),
            "a\\u{1}b\\u{1b}c\\u{fffe}"
        );
        // Bidi and C1 characters are legal XML; they stay data.
        assert_eq!(xml_text("\u{202e}\u{85}"), "\u{202e}\u{85}");
        assert!(xml_text("x\u{0}").chars().all(is_xml_char));
    }
}
