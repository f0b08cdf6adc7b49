//! Which device a page is opened on, read from its User-Agent (and one hint the page's own
//! script may add), and how well an artifact fits it ([`Fit`]). Coarse by nature: it orders
//! what a page offers first and explains the rest; it never decides access and never hides an
//! artifact. Targets say which operating system their artifacts install on
//! ([`crate::Target::device_os`]) and may judge fit themselves ([`crate::Target::fit`]); the
//! generic judgement here compares the operating system and the architecture.

use serde::Serialize;

/// The operating systems a page tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceOs {
    Ios,
    Android,
    Mac,
    Windows,
    Linux,
    Other,
}

/// The device asking for a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub os: DeviceOs,
    /// An iPad (also one that asks for desktop sites, told by the page's script).
    pub tablet: bool,
    /// The OS version the User-Agent names (`17.4`, Android `14`), when it names one.
    pub os_version: Option<String>,
    /// The CPU architecture, normalised by [`normal_arch`], when the User-Agent tells it.
    /// Safari on a Mac never does; Android browsers rarely do (then `arm64` is assumed, see
    /// [`Device::arch_assumed`]).
    pub arch: Option<&'static str>,
    /// `arch` is a guess (Android without an ABI in its User-Agent).
    pub arch_assumed: bool,
    /// A Linux distribution family (`debian`, `fedora`, `suse`, `arch`) when named.
    pub linux_family: Option<&'static str>,
    /// The app whose built-in browser this is (`Slack`, `WeChat`, ...), if any.
    pub in_app: Option<&'static str>,
}

/// Apps whose built-in browsers cannot install apps or keep downloads, as their User-Agents
/// name them (lowercase), with the name a person knows.
const IN_APP: &[(&str, &str)] = &[
    ("micromessenger", "WeChat"),
    ("slack", "Slack"),
    ("gmail", "Gmail"),
    ("gsa/", "the Google app"),
    ("linkedinapp", "LinkedIn"),
    ("fban", "Facebook"),
    ("fbav", "Facebook"),
    ("instagram", "Instagram"),
    ("line/", "LINE"),
    ("twitter", "X"),
    ("discord", "Discord"),
    ("teams/", "Microsoft Teams"),
    ("; wv)", "an app"),
];

impl Device {
    /// Reads a User-Agent. `hint` is what the page's script found out and sent back
    /// (`ipad`: a Mac User-Agent on a touch screen, which is iPadOS asking for desktop sites).
    pub fn from_user_agent(user_agent: &str, hint: Option<&str>) -> Self {
        let cut = &user_agent[..floor_char_boundary(user_agent, crate::Client::MAX_USER_AGENT)];
        let ua = cut.to_ascii_lowercase();
        let in_app = IN_APP
            .iter()
            .find(|(w, _)| ua.contains(w))
            .map(|(_, name)| *name);
        let mut d = Self {
            os: DeviceOs::Other,
            tablet: false,
            os_version: None,
            arch: None,
            arch_assumed: false,
            linux_family: None,
            in_app,
        };
        if ua.contains("iphone") || ua.contains("ipad") || ua.contains("ipod") {
            d.os = DeviceOs::Ios;
            d.tablet = ua.contains("ipad");
            // "CPU iPhone OS 17_4 like Mac OS X", "CPU OS 17_4 like Mac OS X" (iPad).
            d.os_version = ua
                .split_once(" os ")
                .map(|(_, rest)| version_prefix(rest, '_'))
                .filter(|v| !v.is_empty());
            d.arch = Some("arm64");
        } else if ua.contains("android") {
            d.os = DeviceOs::Android;
            d.os_version = ua
                .split_once("android ")
                .map(|(_, rest)| version_prefix(rest, '.'))
                .filter(|v| !v.is_empty());
            d.arch = arch_in(&ua);
            if d.arch.is_none() {
                d.arch = Some("arm64");
                d.arch_assumed = true;
            }
        } else if ua.contains("windows") {
            d.os = DeviceOs::Windows;
            d.arch = if ua.contains("arm64") || ua.contains("aarch64") {
                Some("arm64")
            } else if ua.contains("win64") || ua.contains("wow64") || ua.contains("x64") {
                Some("x86_64")
            } else {
                None
            };
        } else if ua.contains("macintosh") || ua.contains("mac os x") {
            d.os = DeviceOs::Mac;
            if hint == Some("ipad") {
                // iPadOS 13+ asks for desktop sites with a Mac User-Agent; the page's script
                // tells it by its touch screen.
                d.os = DeviceOs::Ios;
                d.tablet = true;
                d.arch = Some("arm64");
            }
        } else if ua.contains("linux") || ua.contains("x11") || ua.contains("cros") {
            d.os = DeviceOs::Linux;
            d.arch = arch_in(&ua);
            d.linux_family = [
                ("ubuntu", "debian"),
                ("debian", "debian"),
                ("mint", "debian"),
                ("fedora", "fedora"),
                ("red hat", "fedora"),
                ("centos", "fedora"),
                ("suse", "suse"),
                ("arch linux", "arch"),
            ]
            .iter()
            .find(|(w, _)| ua.contains(w))
            .map(|(_, f)| *f);
        }
        d
    }

    /// A short key for everything a page may change with: pages are rendered once per
    /// release and class.
    pub fn class(&self) -> String {
        format!(
            "{:?}/{}/{}/{}/{}/{}",
            self.os,
            self.tablet,
            self.os_version.as_deref().unwrap_or(""),
            self.arch.unwrap_or(""),
            self.linux_family.unwrap_or(""),
            self.in_app.unwrap_or("")
        )
    }

    /// "an iPhone (iOS 17.4)", "a Mac", ...: how a page names this device.
    pub fn describe(&self) -> String {
        let v = |name: &str| {
            self.os_version
                .as_deref()
                .map(|v| format!(" ({name} {v})"))
                .unwrap_or_default()
        };
        let arch = self.arch.map(|a| format!(", {a}")).unwrap_or_default();
        match self.os {
            DeviceOs::Ios if self.tablet => format!("an iPad{}", v("iPadOS")),
            DeviceOs::Ios => format!("an iPhone{}", v("iOS")),
            DeviceOs::Android => {
                format!(
                    "an Android device{}{}",
                    v("Android"),
                    if self.arch_assumed { "" } else { &arch }
                )
            }
            DeviceOs::Mac => "a Mac".into(),
            DeviceOs::Windows => format!("a Windows PC{arch}"),
            DeviceOs::Linux => format!(
                "a Linux computer{}{arch}",
                self.linux_family
                    .map(|f| format!(" ({f} family)"))
                    .unwrap_or_default()
            ),
            DeviceOs::Other => "this device".into(),
        }
    }

    /// The major OS version, when known.
    pub fn major_version(&self) -> Option<u32> {
        self.os_version.as_deref()?.split('.').next()?.parse().ok()
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Leading digits and separators of `rest`, separators turned into dots: `17_4_1 like` → `17.4.1`.
fn version_prefix(rest: &str, sep: char) -> String {
    rest.chars()
        .take_while(|c| c.is_ascii_digit() || *c == sep || *c == '.')
        .take(12)
        .map(|c| if c == sep { '.' } else { c })
        .collect::<String>()
        .trim_end_matches('.')
        .to_owned()
}

fn arch_in(ua: &str) -> Option<&'static str> {
    if ua.contains("x86_64") || ua.contains("amd64") || ua.contains("x64") {
        Some("x86_64")
    } else if ua.contains("aarch64") || ua.contains("arm64") {
        Some("arm64")
    } else if ua.contains("armv7") || ua.contains("armv8l") {
        Some("arm32")
    } else if ua.contains("i686") || ua.contains("i386") {
        Some("x86")
    } else {
        None
    }
}

/// One name per architecture for matching a device, from [`crate::arch`]'s families (`amd64`,
/// `x86_64` and `x64` are one machine); both 32-bit ARM families are `arm32`, since a browser
/// does not tell hard from soft float. `Some("universal")` for builds that run on every
/// architecture (`all`, `noarch`); `None` for a source package, which installs on none.
pub fn normal_arch(arch: &str) -> Option<&'static str> {
    if arch.eq_ignore_ascii_case("src") || arch.eq_ignore_ascii_case("nosrc") {
        return None;
    }
    if crate::arch::is_every(arch) {
        return Some("universal");
    }
    Some(match crate::arch::family(arch).as_str() {
        "x86_64" => "x86_64",
        "arm64" => "arm64",
        "armv7" | "armel" | "arm" => "arm32",
        "x86" => "x86",
        _ => return None,
    })
}

/// How well an artifact fits the device a page is opened on. Pages put the best first, with
/// one primary action, and say for every other artifact why it is not first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fit {
    pub rank: FitRank,
    /// Why it is not first, in plain words (or a caveat for the first one).
    pub note: Option<String>,
}

/// Best first (the derived order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FitRank {
    /// Installs on this device.
    Installs,
    /// For this device, but second best: one of several architectures when the device does
    /// not tell its own, a file that installs only with a computer.
    Fits,
    /// For another device or operating system.
    Elsewhere,
    /// For this operating system but it will not run here (too new an OS, another CPU).
    WillNotRun,
}

impl Fit {
    pub fn new(rank: FitRank, note: Option<String>) -> Self {
        Self { rank, note }
    }

    /// The judgement every target gets unless it refines it: the operating system its
    /// artifacts install on against the device's, then the artifact's architectures against
    /// the device's. `os` is `None` for a target that installs on no device by itself.
    pub fn generic(
        os: Option<DeviceOs>,
        platform_name: &str,
        archs: &[&str],
        device: &Device,
    ) -> Self {
        let Some(os) = os else {
            return Self::new(
                FitRank::Elsewhere,
                Some(format!(
                    "A {platform_name} file; no device installs it from this page."
                )),
            );
        };
        if os != device.os {
            return Self::new(
                FitRank::Elsewhere,
                Some(format!(
                    "For {platform_name}; this page is open on {}.",
                    device.describe()
                )),
            );
        }
        let normal: Vec<&'static str> = archs.iter().filter_map(|a| normal_arch(a)).collect();
        if normal.is_empty() || normal.contains(&"universal") {
            return Self::new(FitRank::Installs, None);
        }
        match device.arch {
            Some(d) if normal.contains(&d) => Self::new(FitRank::Installs, None),
            Some(d) if device.arch_assumed => Self::new(
                FitRank::Fits,
                Some(format!(
                    "Built for {}; most devices like this one are {d}, but the browser does not say.",
                    normal.join(", ")
                )),
            ),
            Some(d) => Self::new(
                FitRank::WillNotRun,
                Some(format!(
                    "Built for {}; this {} is {d}.",
                    normal.join(", "),
                    match os {
                        DeviceOs::Windows => "PC",
                        DeviceOs::Linux => "computer",
                        _ => "device",
                    }
                )),
            ),
            None if os == DeviceOs::Mac => Self::new(
                FitRank::Fits,
                Some(format!(
                    "Built for {} only. Safari does not tell Apple silicon from Intel: Apple menu > About This Mac shows \"Chip: Apple M…\" (arm64) or \"Processor: Intel\" (x86_64).",
                    normal.join(", ")
                )),
            ),
            None => Self::new(
                FitRank::Fits,
                Some(format!(
                    "Built for {} only; the browser does not say which this computer is.",
                    normal.join(", ")
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    const MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
    const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36";
    const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0";
    const UBUNTU: &str =
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

    #[test]
    fn user_agents_are_read() {
        let d = Device::from_user_agent(IPHONE, None);
        assert_eq!((d.os, d.tablet), (DeviceOs::Ios, false));
        assert_eq!(d.os_version.as_deref(), Some("17.4.1"));
        assert_eq!(d.describe(), "an iPhone (iOS 17.4.1)");
        let d = Device::from_user_agent(MAC, None);
        assert_eq!((d.os, d.arch), (DeviceOs::Mac, None));
        let d = Device::from_user_agent(MAC, Some("ipad"));
        assert_eq!((d.os, d.tablet), (DeviceOs::Ios, true));
        let d = Device::from_user_agent(ANDROID, None);
        assert_eq!(d.os, DeviceOs::Android);
        assert_eq!(d.major_version(), Some(14));
        assert!(d.arch_assumed);
        let d = Device::from_user_agent(EDGE, None);
        assert_eq!((d.os, d.arch), (DeviceOs::Windows, Some("x86_64")));
        let d = Device::from_user_agent(UBUNTU, None);
        assert_eq!(
            (d.os, d.arch, d.linux_family),
            (DeviceOs::Linux, Some("x86_64"), Some("debian"))
        );
        assert_eq!(d.in_app, None);
        let slack = format!("{ANDROID} Slack/24.04");
        assert_eq!(Device::from_user_agent(&slack, None).in_app, Some("Slack"));
        // A hostile, huge User-Agent is cut, not trusted.
        let long = "é".repeat(10_000);
        assert_eq!(Device::from_user_agent(&long, None).os, DeviceOs::Other);
    }

    #[test]
    fn generic_fit_compares_os_and_arch() {
        let ubuntu = Device::from_user_agent(UBUNTU, None);
        let f = Fit::generic(Some(DeviceOs::Linux), "Linux", &["amd64"], &ubuntu);
        assert_eq!(f.rank, FitRank::Installs);
        let f = Fit::generic(Some(DeviceOs::Linux), "Linux", &["aarch64"], &ubuntu);
        assert_eq!(f.rank, FitRank::WillNotRun);
        assert!(f.note.unwrap().contains("arm64"));
        let f = Fit::generic(Some(DeviceOs::Android), "Android", &[], &ubuntu);
        assert_eq!(f.rank, FitRank::Elsewhere);
        let mac = Device::from_user_agent(MAC, None);
        assert_eq!(
            Fit::generic(Some(DeviceOs::Mac), "macOS", &["universal"], &mac).rank,
            FitRank::Installs
        );
        let f = Fit::generic(Some(DeviceOs::Mac), "macOS", &["arm64"], &mac);
        assert_eq!(f.rank, FitRank::Fits);
        assert!(f.note.unwrap().contains("About This Mac"));
        assert!(FitRank::Installs < FitRank::Fits && FitRank::Fits < FitRank::Elsewhere);
    }
}
