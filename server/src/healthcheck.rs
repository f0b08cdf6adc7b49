//! `distd healthcheck`: asks a running distd's `GET /healthz` and exits 0 when it answers 200,
//! 1 otherwise. It is the image's `HEALTHCHECK` (the image has no curl or shell), so it is a
//! plain HTTP/1.1 request over a socket with a timeout, nothing more.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::{self, CONFIG_FILE, DEFAULT_LISTEN, ENV_LISTEN, FileConfig};

/// The address to ask: `--url`'s host and port, else the listen address distd would use
/// (`DIST_LISTEN`, else `listen` in `DATA/config.toml`, else the default), with 0.0.0.0 and
/// `::` turned into loopback.
fn target(url: Option<&str>) -> anyhow::Result<(String, String)> {
    if let Some(url) = url {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("{url:?}: only http:// URLs are supported"))?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/healthz"),
        };
        let hostport = if hostport.contains(':') && !hostport.ends_with(']') {
            hostport.to_owned()
        } else {
            format!("{hostport}:80")
        };
        return Ok((hostport, path.to_owned()));
    }
    let listen = match std::env::var(ENV_LISTEN).ok().filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => {
            let (data, _) = config::data_dir(None);
            std::fs::read_to_string(data.join(CONFIG_FILE))
                .ok()
                .and_then(|t| toml::from_str::<FileConfig>(&t).ok())
                .and_then(|f| f.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_owned())
        }
    };
    let mut addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("listen address {listen:?} is not HOST:PORT"))?;
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    Ok((addr.to_string(), "/healthz".to_owned()))
}

/// One GET; returns the status code and the body (at most 64 KiB).
fn get(hostport: &str, path: &str, timeout: Duration) -> anyhow::Result<(u16, String)> {
    let addr = hostport
        .to_socket_addrs()
        .with_context(|| format!("resolve {hostport}"))?
        .next()
        .with_context(|| format!("resolve {hostport}: no address"))?;
    let mut s =
        TcpStream::connect_timeout(&addr, timeout).with_context(|| format!("connect to {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUser-Agent: distd-healthcheck\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.take(64 * 1024)
        .read_to_end(&mut buf)
        .with_context(|| format!("read the answer from {addr}"))?;
    let text = String::from_utf8_lossy(&buf);
    let status_line = text.lines().next().unwrap_or_default();
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .with_context(|| format!("not an HTTP answer from {addr}: {status_line:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_owned())
        .unwrap_or_default();
    Ok((code, body))
}

pub fn run(url: Option<&str>, timeout: Duration) -> anyhow::Result<ExitCode> {
    let (hostport, path) = target(url)?;
    let (code, body) = match get(&hostport, &path, timeout) {
        Ok(r) => r,
        Err(e) => {
            println!("unhealthy: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if code == 200 {
        println!("healthy: {body}");
        Ok(ExitCode::SUCCESS)
    } else if (100..600).contains(&code) {
        println!("unhealthy: HTTP {code} from http://{hostport}{path}: {body}");
        Ok(ExitCode::from(1))
    } else {
        bail!("HTTP status {code} from http://{hostport}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts() {
        assert_eq!(
            target(Some("http://127.0.0.1:9000")).unwrap(),
            ("127.0.0.1:9000".to_owned(), "/healthz".to_owned())
        );
        assert_eq!(
            target(Some("http://localhost/x")).unwrap(),
            ("localhost:80".to_owned(), "/x".to_owned())
        );
        assert!(target(Some("https://a")).is_err());
    }

    #[test]
    fn answers_200_and_503() {
        for (status, want) in [
            ("200 OK", ExitCode::SUCCESS),
            ("503 Service Unavailable", ExitCode::from(1)),
        ] {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/healthz", l.local_addr().unwrap());
            let t = std::thread::spawn(move || {
                let (mut c, _) = l.accept().unwrap();
                // Read the whole request before answering: closing a socket with unread bytes
                // makes the kernel send a reset, which the client may see before the answer.
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = c.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                write!(c, "HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\n{{}}").unwrap();
            });
            let code = run(Some(&url), Duration::from_secs(2)).unwrap();
            t.join().unwrap();
            assert_eq!(code, want);
        }
    }

    #[test]
    fn nothing_listening_is_unhealthy() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        drop(l);
        assert_eq!(
            run(Some(&url), Duration::from_secs(2)).unwrap(),
            ExitCode::from(1)
        );
    }
}
