//! Issue 12, item 2: the README's way onto a runner stays true. Every `cargo install` line
//! builds this package (the one with the `dist` binary) with `--locked`, and both CI examples
//! install dist before they run it; the PowerShell example is there for Windows runners.

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
