//! How a Linux artifact fits the computer a page is open on: the generic judgement (Linux,
//! the architecture), then the package format against the distribution family the browser
//! names (Ubuntu's Firefox says "Ubuntu"; most browsers name none, and then every format fits).

use platform::{ArtifactView, Device, DeviceOs, Fit, FitRank};

/// The families whose package manager installs each format.
fn native(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "deb" => Some(&["debian"]),
        "rpm" => Some(&["fedora", "suse"]),
        _ => None,
    }
}

pub fn fit(artifact: &ArtifactView<'_>, device: &Device) -> Fit {
    let generic = Fit::generic(
        Some(DeviceOs::Linux),
        "Linux",
        &platform::registry::artifact_archs(artifact),
        device,
    );
    if device.os != DeviceOs::Linux || generic.rank != FitRank::Installs {
        return generic;
    }
    match (native(artifact.kind.as_str()), device.linux_family) {
        (Some(families), Some(family)) if !families.contains(&family) => Fit::new(
            FitRank::Fits,
            Some(format!(
                "A .{} package; this computer looks like a {family}-family system, whose package manager does not install it.",
                artifact.kind
            )),
        ),
        _ => generic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(kind: &platform::Kind) -> ArtifactView<'_> {
        ArtifactView {
            id: "art_1",
            file_name: None,
            kind,
            size: 1,
            sha256: None,
            arch: None,
            install_mode: None,
            link: None,
            inspection: None,
            notarization: None,
            app_name: "a",
        }
    }

    #[test]
    fn the_family_s_own_format_comes_first() {
        let ubuntu = Device::from_user_agent(
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            None,
        );
        let deb: platform::Kind = "deb".parse().unwrap();
        let rpm: platform::Kind = "rpm".parse().unwrap();
        assert_eq!(fit(&view(&deb), &ubuntu).rank, FitRank::Installs);
        let f = fit(&view(&rpm), &ubuntu);
        assert_eq!(f.rank, FitRank::Fits);
        assert!(f.note.unwrap().contains("debian-family"));
    }
}
