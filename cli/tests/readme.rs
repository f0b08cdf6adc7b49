//! The README stays true. Issue 12, item 2: every `cargo install` line in a code block builds
//! this package (the one with the `dist` binary) with `--locked`, both CI examples install dist
//! before they run it, and a PowerShell example is there for Windows runners. Item 9: the
//! exit-code table agrees with `dist --help`.

mod common;

use common::workspace_root;

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).unwrap()
}

/// The fenced blocks of the README with their info string.
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut cur, line.strip_prefix("```")) {
            (None, Some(info)) => cur = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => out.extend(cur.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

#[test]
fn every_cargo_install_is_locked_and_names_the_cli_package() {
    assert_eq!(
        env!("CARGO_PKG_NAME"),
        "cli",
        "the README installs the package `cli`"
    );
    let blocks = blocks(&readme());
    let installs: Vec<&str> = blocks
        .iter()
        .flat_map(|(_, body)| body.lines())
        .filter(|l| l.contains("cargo install"))
        .collect();
    assert!(installs.len() >= 4, "{installs:#?}");
    for l in installs {
        assert!(l.contains("cargo install --locked"), "{l}");
        let tail = l.split("cargo install --locked").nth(1).unwrap();
        assert!(
            tail.contains(" cli") || tail.contains("/cli"),
            "`{l}` does not name the cli package"
        );
    }
}

#[test]
fn both_ci_examples_install_dist_before_running_it() {
    let text = readme();
    let yaml: Vec<String> = blocks(&text)
        .into_iter()
        .filter(|(info, body)| info == "yaml" && body.contains("dist ci publish"))
        .map(|(_, body)| body)
        .collect();
    assert_eq!(yaml.len(), 2, "the GitHub Actions and GitLab CI examples");
    for body in &yaml {
        let install = body.find("cargo install --locked").expect(body);
        let run = body.find("dist ci publish").unwrap();
        assert!(install < run, "{body}");
    }
    assert!(
        blocks(&text).iter().any(|(info, body)| info == "powershell"
            && body.contains("cargo install --locked")
            && body.contains("$env:DIST_TOKEN")),
        "a PowerShell example for Windows runners"
    );
}

/// Issue 12, item 9: the README's exit-code table and `dist --help` list the same codes.
#[test]
fn exit_codes_agree_with_the_readme() {
    let text = readme();
    let table: Vec<String> = text
        .split("### Exit codes")
        .nth(1)
        .expect("README has an exit-code table")
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    let help = common::dist_offline(&["--help"]);
    assert_eq!(help.code, 0);
    let listed: Vec<String> = help
        .stdout
        .split("Exit codes:")
        .nth(1)
        .expect("--help lists exit codes")
        .lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let code: String = t.chars().take_while(char::is_ascii_digit).collect();
            (!code.is_empty() && l.starts_with("  ") && !l.starts_with("     ")).then_some(code)
        })
        .collect();
    assert_eq!(table, ["0", "2", "3", "4", "5", "6"]);
    assert_eq!(listed, table, "{}", help.stdout);
}
