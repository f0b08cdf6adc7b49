//! Help examples that name a platform take it from the linked targets, so `dist` itself names
//! none (a build linking other targets shows examples it really takes). `after_help` texts
//! hold placeholders that [`fill`] replaces when the command line is parsed:
//!
//! - `{platform}`, `{platform2}`: the first and second linked targets with a publishable kind
//!   (the first again when only one is linked);
//! - `{kind}`, `{kind2}`: the first preferred kind of each of those;
//! - `{platform:FACT}`: the first target declaring the identity fact `FACT` (`team_id`, ...);
//!   `{platform:keys}`, the first that reads keys an admin adds (`Target::trusted_key`).

use clap::Command;
use platform::Target;

/// Fills the placeholders of every `after_help` in `cmd` and its subcommands.
pub fn fill(cmd: Command) -> Command {
    fill_with(cmd, &publishing_targets())
}

/// The linked targets that can put a file on a release, in registry order.
fn publishing_targets() -> Vec<&'static dyn Target> {
    platform::registry()
        .targets()
        .iter()
        .copied()
        .filter(|t| t.kinds().iter().any(|k| k.publishable))
        .collect()
}

fn fill_with(mut cmd: Command, targets: &[&'static dyn Target]) -> Command {
    if let Some(text) = cmd.get_after_help() {
        let filled = apply(&text.to_string(), targets);
        cmd = cmd.after_help(filled);
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |c| fill_with(c, targets));
    }
    cmd
}

fn first_kind(t: &dyn Target) -> &'static str {
    t.preferred_kinds()
        .first()
        .copied()
        .or_else(|| t.kinds().iter().find(|k| k.publishable).map(|k| k.kind))
        .unwrap_or("bin")
}

/// Replaces the placeholders in `text`; with no target linked, they read `PLATFORM`/`KIND`.
fn apply(text: &str, targets: &[&'static dyn Target]) -> String {
    let first = targets.first();
    let second = targets.get(1).or(first);
    let mut out = text
        .replace("{platform}", first.map_or("PLATFORM", |t| t.id()))
        .replace("{platform2}", second.map_or("PLATFORM", |t| t.id()))
        .replace("{kind}", first.map_or("KIND", |t| first_kind(*t)))
        .replace("{kind2}", second.map_or("KIND", |t| first_kind(*t)));
    while let Some(start) = out.find("{platform:") {
        let Some(len) = out[start..].find('}') else {
            break;
        };
        let fact = &out[start + "{platform:".len()..start + len];
        let id = targets
            .iter()
            .find(|t| match fact {
                // A target that reads keys an admin adds answers even for no bytes.
                "keys" => t.trusted_key(&[]).is_some(),
                _ => t.identity_facts().iter().any(|f| f.id == fact),
            })
            .or(first)
            .map_or("PLATFORM", |t| t.id());
        out.replace_range(start..=start + len, id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_linked_targets_and_nothing_is_left() {
        let targets = publishing_targets();
        assert!(!targets.is_empty(), "dist links no target");
        let text = apply(
            "--platform {platform} --platform {platform2} app.{kind} b.{kind2} {platform:identity}",
            &targets,
        );
        assert!(!text.contains('{'), "{text}");
        let first = targets[0];
        assert!(
            text.starts_with(&format!("--platform {} ", first.id())),
            "{text}"
        );
        assert!(
            text.contains(&format!("app.{}", first_kind(first))),
            "{text}"
        );
        assert_eq!(apply("{platform}", &[]), "PLATFORM");
    }

    #[test]
    fn every_help_is_filled() {
        fn walk(cmd: &Command) {
            if let Some(h) = cmd.get_after_help() {
                let h = h.to_string();
                assert!(
                    !h.contains("{platform") && !h.contains("{kind"),
                    "{}: {h}",
                    cmd.get_name()
                );
            }
            cmd.get_subcommands().for_each(walk);
        }
        walk(&fill(<crate::Cli as clap::CommandFactory>::command()));
    }
}
