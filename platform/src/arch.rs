//! Whether a file is built for the architecture its release lists it under: the manifest's
//! (or the API call's) `arch` against the `archs` its target read. One platform-neutral rule,
//! run by [`crate::admit`], because each package format names one CPU its own way (`amd64`
//! and `armhf`, `x86_64` and `armv7hl`, `arm64-v8a`, `x64`) and
//! no target sees the manifest.
//!
//! The names here only match; what is stored stays [`Arch`]'s canonical spelling and the
//! inspection's own words (`amd64`, say), so nothing stored changes meaning.

use crate::{Arch, Finding, Inspection};

/// The finding's code, beside [`crate::versions::VERSION_MISMATCH`].
pub const ARCH_MISMATCH: &str = "release.arch_mismatch";

/// One CPU ABI under every name the formats give it; the first name is the family's.
/// 32-bit ARM is two families: hard-float ARMv7 (`armhf`) does not run soft-float
/// `armel` packages, nor the other way round.
const FAMILIES: &[&[&str]] = &[
    &["x86_64", "amd64", "x64", "x86-64", "em64t"],
    &["arm64", "aarch64", "arm64-v8a", "arm64e", "aarch64_be"],
    &["x86", "i386", "i486", "i586", "i686", "ia32", "win32"],
    &[
        "armv7",
        "armhf",
        "armv7hl",
        "armv7l",
        "armv7a",
        "armv7s",
        "armeabi-v7a",
        "armhfp",
    ],
    &["armel", "armeabi", "armv5tel", "armv5te"],
    &["ppc64le", "ppc64el"],
    &["loongarch64", "loong64"],
    &["riscv64", "riscv64gc"],
];

/// Names of a file (or a listing) made for every architecture (`all`, `noarch`,
/// `universal`) or a source package (`src`, `nosrc`).
const EVERY: &[&str] = &["all", "any", "noarch", "universal", "src", "nosrc"];

/// The family name of an architecture name, or the name itself (lower case) when no family
/// lists it: two unknown names match only when they are the same word.
pub fn family(name: &str) -> String {
    FAMILIES
        .iter()
        .find(|f| f.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .map_or_else(|| name.to_ascii_lowercase(), |f| f[0].to_owned())
}

/// Whether `name` stands for every architecture.
pub fn is_every(name: &str) -> bool {
    EVERY.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The finding for a file listed as `listed` whose target read `archs` it does not fit;
/// `None` when it fits or the target read no architecture. A file for every architecture
/// fits any listing; a listing for every architecture (`universal`, `all`, `noarch`) needs
/// a file that holds more than one. Severity error: an installer who picks this
/// architecture on a download page or `/d/` would get a file that does not run there; a
/// warning for a 32-bit build listed under its 64-bit sibling (`i386` as `x86_64`, `armhf`
/// as `arm64`), which runs there on systems that keep 32-bit support.
pub fn arch_mismatch(inspection: &Inspection, listed: &Arch) -> Option<Finding> {
    let archs: Vec<&str> = inspection
        .archs
        .iter()
        .flatten()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .collect();
    if archs.is_empty() || archs.iter().any(|a| is_every(a)) {
        return None;
    }
    let mut families: Vec<String> = archs.iter().map(|a| family(a)).collect();
    families.sort();
    families.dedup();
    let built = archs.join(", ");
    let file = &inspection.file;
    let message = if is_every(listed) {
        if families.len() > 1 {
            return None;
        }
        format!(
            "{file}: listed for every architecture (\"arch\": \"{listed}\") but built only for {built}; people on another architecture would download a file that does not run. Set \"arch\" to \"{}\" in dist.json, or ship a build for every architecture",
            Arch::canonical_name(&families[0])
        )
    } else {
        if families.contains(&family(listed)) {
            return None;
        }
        let suggest = match families.as_slice() {
            [one] => format!("\"{}\"", Arch::canonical_name(one)),
            _ => "one of them".to_owned(),
        };
        // A 32-bit build listed under its 64-bit sibling runs there on systems that keep
        // 32-bit support (multilib and multiarch systems, 64-bit desktops,
        // most arm64 phones), not on every one: a warning that says so.
        if families
            .iter()
            .all(|f| COMPAT.contains(&(f.as_str(), family(listed).as_str())))
        {
            return Some(Finding::warning(
                ARCH_MISMATCH,
                format!(
                    "{file}: built for {built}, but listed as {listed} (\"arch\" in dist.json); it runs on {listed} only through 32-bit compatibility, which not every system has (Debian needs the architecture added with dpkg --add-architecture, and arm64-only devices run no 32-bit code). Set \"arch\" to {suggest}, or attach the {listed} build"
                ),
            ));
        }
        format!(
            "{file}: built for {built}, but listed as {listed} (\"arch\" in dist.json); someone on {listed} who picks this download would get a file that does not install or run there. Set \"arch\" to {suggest}, or attach the {listed} build instead"
        )
    };
    Some(Finding::error(ARCH_MISMATCH, message))
}

/// (file's family, listed family): a 32-bit build that a 64-bit system of the listed
/// family may run.
const COMPAT: &[(&str, &str)] = &[("x86", "x86_64"), ("armv7", "arm64")];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;

    fn insp(archs: Option<&[&str]>) -> Inspection {
        let mut i = Inspection::new(
            "hello_1.0-1_arm64.deb",
            1,
            "linux".parse().unwrap(),
            "deb".parse().unwrap(),
        );
        i.archs = archs.map(|a| a.iter().map(|s| (*s).to_owned()).collect());
        i
    }

    fn arch(s: &str) -> Arch {
        s.parse().unwrap()
    }

    fn fits(archs: &[&str], listed: &str) -> bool {
        arch_mismatch(&insp(Some(archs)), &arch(listed)).is_none()
    }

    #[test]
    fn each_formats_name_for_one_cpu_fits_the_canonical_listing() {
        for (file, listed) in [
            ("amd64", "x86_64"),
            ("x86_64", "amd64"),
            ("x64", "x86_64"),
            ("aarch64", "arm64"),
            ("arm64", "aarch64"),
            ("arm64-v8a", "arm64"),
            ("armhf", "armv7hl"),
            ("armeabi-v7a", "armhf"),
            ("i686", "i386"),
            ("x86", "i686"),
            ("ppc64el", "ppc64le"),
            ("AMD64", "x86_64"),
            ("s390x", "s390x"),
        ] {
            assert!(fits(&[file], listed), "{file} listed as {listed}");
        }
    }

    #[test]
    fn another_cpu_is_an_error_that_says_what_to_set() {
        let f = arch_mismatch(&insp(Some(&["arm64"])), &arch("amd64")).unwrap();
        assert_eq!(f.code, ARCH_MISMATCH);
        assert_eq!(f.severity, Severity::Error);
        assert!(
            f.message.starts_with(
                "hello_1.0-1_arm64.deb: built for arm64, but listed as x86_64 (\"arch\" in dist.json)"
            ),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("Set \"arch\" to \"arm64\""),
            "{}",
            f.message
        );
        assert!(
            !fits(&["armel"], "armhf"),
            "soft- and hard-float ARM differ"
        );
        assert!(
            !fits(&["x86_64"], "i386"),
            "a 64-bit build never runs on 32-bit"
        );
    }

    #[test]
    fn a_32_bit_build_listed_under_its_64_bit_sibling_is_a_warning() {
        for (file, listed) in [("i386", "x86_64"), ("x86", "amd64"), ("armhf", "arm64")] {
            let f = arch_mismatch(&insp(Some(&[file])), &arch(listed)).unwrap();
            assert_eq!(f.severity, Severity::Warning, "{file} as {listed}");
            assert!(f.message.contains("32-bit compatibility"), "{}", f.message);
        }
        // With a build for another CPU beside it, still an error.
        let f = arch_mismatch(&insp(Some(&["i386", "s390x"])), &arch("x86_64")).unwrap();
        assert_eq!(f.severity, Severity::Error);
        assert!(
            !fits(&["mips64el"], "riscv64"),
            "unknown names compare as words"
        );
    }

    #[test]
    fn a_file_for_several_cpus_fits_each_of_them() {
        assert!(fits(&["armv7", "arm64"], "arm64"));
        assert!(fits(&["armeabi-v7a", "arm64-v8a", "x86_64"], "x86_64"));
        assert!(!fits(&["armeabi-v7a", "arm64-v8a"], "x86_64"));
    }

    #[test]
    fn every_architecture_on_either_side() {
        // A file for every CPU fits any listing.
        for file in ["all", "noarch", "src", "universal"] {
            assert!(fits(&[file], "arm64"), "{file}");
        }
        // A listing for every CPU needs a file for more than one.
        assert!(fits(&["x86_64", "arm64"], "universal"));
        assert!(fits(&["noarch"], "all"));
        let f = arch_mismatch(&insp(Some(&["amd64"])), &arch("all")).unwrap();
        assert!(
            f.message.contains("Set \"arch\" to \"x86_64\""),
            "{}",
            f.message
        );
        assert!(
            !fits(&["x86_64", "amd64"], "universal"),
            "one CPU, two names"
        );
    }

    #[test]
    fn no_archs_read_is_no_finding() {
        assert!(arch_mismatch(&insp(None), &arch("arm64")).is_none());
        assert!(arch_mismatch(&insp(Some(&[""])), &arch("arm64")).is_none());
    }
}
