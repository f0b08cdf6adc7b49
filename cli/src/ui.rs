//! Terminal output: colours (off with `NO_COLOR` or when stderr is not a terminal), progress
//! bars (only on a terminal and never with `--json`), tables, and JSON printing to stdout.
//!
//! Everything the CLI prints leaves through this module (except clap's help and usage
//! errors; completion scripts leave through [`raw`]). Human text (notes, warnings, errors, tables, `show` lines,
//! progress labels) carries values from artifacts and from servers: a version string or a
//! server error message can hold an escape sequence that rewrites the terminal, or a bidi
//! override that reorders what the release manager reads (issue 9, item 9). So each human
//! printer here writes its text through [`platform::text::Visible`] (or
//! [`platform::text::escape_hidden`]), which shows every control, bidi and other invisible
//! format character visibly (`\u{202e}`); colours are added by the printer after escaping, so
//! no caller can hand one in. A line is one line: a line feed inside it prints as `\n`.
//! JSON ([`print_json`], [`print_json_line`]) is data and prints as serde writes it (controls
//! escaped by JSON itself, bidi kept as data).
//!
//! `main.rs` denies `clippy::print_stdout` and `clippy::print_stderr` outside this module,
//! so a new command cannot print around it.
//!
//! Closed pipes (issue 12, item 7): `dist completions bash | head -1` closes stdout while
//! dist still writes. Rust ignores `SIGPIPE`, so the write fails with `BrokenPipe`, and
//! `println!` would panic (exit 101). Every stdout write goes through [`out`]: once the reader
//! has gone, later stdout writes are skipped without a word, and the command ends with the
//! exit code its work earned (0 for a listing, 5 for a conflict), so a closed pipe neither
//! hides a failure nor invents one. Other stdout errors (a full disk) are reported and exit
//! 2, like any local file failure. Human text on stderr is best effort: a closed stderr never
//! stops a publish half-way.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use platform::text::{Visible, escape_hidden};
use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub json: bool,
    pub color: bool,
    pub progress: bool,
}

/// The colour of a note's leading word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Bold,
    Dim,
    Green,
    Yellow,
    Red,
}

impl Tone {
    fn code(self) -> &'static str {
        match self {
            Self::Bold => "1",
            Self::Dim => "2",
            Self::Green => "32",
            Self::Yellow => "33",
            Self::Red => "31",
        }
    }
}

impl Ui {
    pub fn new(json: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        // https://no-color.org: any non-empty value turns colour off.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            json,
            color: tty && !no_color,
            progress: tty && !json,
        }
    }

    /// `text` escaped, then painted. The only place colour codes are made.
    fn paint(&self, tone: Tone, text: &str) -> String {
        let text = escape_hidden(text);
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", tone.code())
        } else {
            text.into_owned()
        }
    }

    /// A line of human text on stderr.
    pub fn note(&self, text: &str) {
        note_line(text);
    }

    /// A line of human text on stderr whose first word is painted: `published rel_1`.
    pub fn note_lead(&self, tone: Tone, lead: &str, text: &str) {
        err(format_args!(
            "{} {}\n",
            self.paint(tone, lead),
            Visible(text)
        ));
    }

    pub fn warn(&self, text: &str) {
        self.note_lead(Tone::Yellow, "warning:", text);
    }

    pub fn error(&self, text: &str) {
        self.note_lead(Tone::Red, "error:", text);
    }

    /// One line of human data on stdout (a `show` field, a token secret).
    pub fn line(&self, text: &str) {
        out(format_args!("{}\n", Visible(text)));
    }

    /// Lines of human data on stdout, each escaped.
    pub fn lines(&self, lines: &[String]) {
        for l in lines {
            self.line(l);
        }
    }

    /// Rows as aligned columns on stdout (the header row first); see [`table`].
    pub fn table(&self, rows: &[Vec<String>]) {
        self.lines(&table(rows));
    }

    /// A byte progress bar on stderr, hidden when progress is off. The label is escaped.
    pub fn bar(&self, len: u64, label: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let template = if self.color {
            "{msg:24!} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
        } else {
            "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}"
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.set_message(escape_hidden(label).into_owned());
        bar
    }
}

/// A line of human text on stderr, escaped (for code that has no [`Ui`], like the HTTP
/// client's retry notes).
pub fn note_line(text: &str) {
    err(format_args!("{}\n", Visible(text)));
}

/// Set once a stdout write found the reader gone; later writes are skipped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout and flushes, with the closed-pipe rule of the module docs.
fn out(args: std::fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        stdout_failed(&e);
    }
}

/// Bytes to stdout as they are (a completion script), with [`out`]'s closed-pipe rule.
pub fn raw(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        stdout_failed(&e);
    }
}

fn stdout_failed(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        return;
    }
    err(format_args!(
        "error: cannot write to standard output: {e}; check where it is redirected\n"
    ));
    std::process::exit(crate::exit::Exit::Usage.code());
}

/// Writes to stderr, ignoring failures: a closed stderr must not stop a command.
fn err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    out(format_args!("{text}\n"));
    Ok(())
}

/// Prints a JSON value on one line of stdout (the `--json` error document).
pub fn print_json_line(value: &serde_json::Value) {
    out(format_args!("{value}\n"));
}

pub use platform::units::human_size;

/// Renders rows as aligned lines (the header row first). Cells are escaped before they are
/// measured, so a cell with hidden characters neither breaks the layout nor the terminal.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape_hidden(c).into_owned()).collect())
        .collect();
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push(line.trim_end().to_owned());
    }
    out
}

/// How long ago an RFC 3339 UTC time (`2026-12-01T23:22:41.805374Z`, as distd writes them)
/// was, for people: `45s`, `12m`, `5h`, `3d`. `-` when it does not parse.
pub fn age(rfc3339: &str, now_unix: i64) -> String {
    let Some(t) = unix_of(rfc3339) else {
        return "-".into();
    };
    let s = (now_unix - t).max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// An RFC 3339 UTC time as (seconds, nanoseconds) for ordering; distd trims trailing zeros
/// from the fraction, so the strings themselves do not sort.
pub fn time_key(t: &str) -> Option<(i64, u32)> {
    let secs = unix_of(t)?;
    let frac = t
        .get(19..t.len() - 1)
        .and_then(|f| f.strip_prefix('.'))
        .unwrap_or("");
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = format!("{frac:0<9}").parse().ok()?;
    Some((secs, nanos))
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.frac]Z`.
fn unix_of(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !t.ends_with('Z') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, s) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86400 + h * 3600 + mi * 60 + s)
}

/// `-` for a missing value in a table.
pub fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(&[
            vec!["ID".into(), "NAME".into()],
            vec!["tok_1".into(), "ci".into()],
        ]);
        assert_eq!(t, ["ID     NAME", "tok_1  ci"]);
    }

    /// Issue 9, item 9: a cell with an escape sequence or a bidi override is shown escaped
    /// and the columns still line up.
    #[test]
    fn table_cells_are_escaped_before_alignment() {
        let t = table(&[
            vec!["NAME".into(), "VERSION".into()],
            vec!["a\u{202e}b".into(), "1\u{1b}[2J\n".into()],
            vec!["long-name".into(), "2".into()],
        ]);
        assert_eq!(
            t,
            [
                "NAME        VERSION",
                "a\\u{202e}b  1\\u{1b}[2J\\n",
                "long-name   2",
            ]
        );
    }

    #[test]
    fn ages_for_people() {
        let t = unix_of("2026-12-01T23:22:41.805374Z").unwrap();
        assert_eq!(t, 1_796_167_361);
        assert_eq!(unix_of("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(age("2026-12-01T23:22:41Z", t + 30), "30s");
        assert_eq!(age("2026-12-01T23:22:41Z", t + 600), "10m");
        assert_eq!(age("2026-12-01T23:22:41Z", t + 3 * 86400), "3d");
        assert_eq!(age("yesterday", t), "-");
        assert!(time_key("2026-12-01T23:22:41.8Z") > time_key("2026-12-01T23:22:41.75Z"));
        assert!(time_key("2026-12-01T23:22:41Z") < time_key("2026-12-01T23:22:41.000001Z"));
        assert_eq!(time_key("2026-12-01T23:22:41.5x"), None);
    }

    #[test]
    fn paint_escapes_before_it_colours() {
        let ui = Ui {
            json: false,
            color: true,
            progress: false,
        };
        assert_eq!(
            ui.paint(Tone::Green, "ok\u{1b}[31m"),
            "\x1b[32mok\\u{1b}[31m\x1b[0m"
        );
        let plain = Ui { color: false, ..ui };
        assert_eq!(plain.paint(Tone::Red, "x\u{2066}"), "x\\u{2066}");
    }
}
