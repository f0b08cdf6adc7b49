//! The pages testers bookmark: `/apps/{app}` (its channels), `/apps/{app}/channels/{channel}`
//! (the release the channel points at now) and `/apps/{app}/releases/{id}` (one release, the
//! URL `dist ci publish` prints). Access is the install page's (README "Security model"): a
//! public release or channel needs nothing; else a page or admin session, a bearer token, or
//! `?token=`, which is exchanged for a page session and dropped from the address.
//!
//! The device comes from the User-Agent (`platform::Device`; the page's script adds
//! `?device=ipad` for an iPad asking for desktop sites) and every artifact's target judges
//! its fit (`Target::fit`): the best first, the others with why. A page is rendered once per
//! release and device class and kept in [`PageCache`] with grant placeholders that each
//! answer fills with fresh grants; a public page carries an `ETag` and answers
//! `If-None-Match` with 304.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use rusqlite::Connection;
use serde::Deserialize;
use sha2::Digest;

use platform::api::ReleaseStatus;
use platform::{AppSlug, ArtifactView, ChannelName, Client, Device, FitRank, Links, ReleaseId};

use super::compress;
use super::downloads::{self, CACHE_NONE, CACHE_REVALIDATE, ICON_DOC, Via};
use super::{ApiPath, ApiQuery, page_id, parse_seg};
use crate::access::{self, Use};
use crate::auth;
use crate::caches::GenCache;
use crate::db::{self, AppRow, ArtifactRow, ReleaseRow};
use crate::error::{AppError, AppResult};
use crate::grants::Purpose;
use crate::services::{self, AppState};
use crate::sessions::{self, Kind};
use crate::util;
use ui::Template;

/// Rendered pages kept (release x channel x device class x public).
const PAGE_CACHE_ENTRIES: usize = 4096;
/// Channel states kept (app x channel).
const CHANNEL_CACHE_ENTRIES: usize = 4096;
/// Release states kept (release pages).
const RELEASE_CACHE_ENTRIES: usize = 4096;
/// App overviews kept (app pages).
const APP_CACHE_ENTRIES: usize = 1024;
/// A UDID is 25 or 40 characters; anything longer is not one.
const MAX_UDID: usize = 64;
/// Findings listed per artifact, worst first.
const MAX_FINDINGS: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/apps/{app}", get(app_page))
        .route("/apps/{app}/channels/{channel}", get(channel_page))
        .route("/apps/{app}/releases/{id}", get(release_page))
}

/// The page caches, shared by every request.
pub struct PageCaches {
    pages: GenCache<PageKey, Arc<Rendered>>,
    channels: GenCache<(String, String), Arc<ChannelState>>,
    releases: GenCache<(String, String), Arc<ReleaseState>>,
    apps: GenCache<String, Arc<AppOverview>>,
}

impl Default for PageCaches {
    fn default() -> Self {
        Self {
            pages: GenCache::new(PAGE_CACHE_ENTRIES),
            channels: GenCache::new(CHANNEL_CACHE_ENTRIES),
            releases: GenCache::new(RELEASE_CACHE_ENTRIES),
            apps: GenCache::new(APP_CACHE_ENTRIES),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    release: String,
    channel: Option<String>,
    device: String,
    public: bool,
}

/// A page as rendered, before its grants are filled in.
struct Rendered {
    html: Bytes,
    /// The artifacts whose grant placeholders the page holds.
    artifacts: Vec<String>,
    etag: String,
    /// A public page gzipped, made on its first answer to a client that accepts gzip and
    /// kept with the page (`None` if compressing failed: the page then goes out as it is).
    /// A non-public page gets fresh grants per answer, so the middleware compresses those.
    gzipped: std::sync::OnceLock<Option<Gzipped>>,
}

struct Gzipped {
    bytes: Bytes,
    /// The gzipped bytes are another representation, so they have their own tag.
    etag: String,
}

impl Rendered {
    fn gzipped(&self) -> Option<&Gzipped> {
        self.gzipped
            .get_or_init(|| {
                let bytes = compress::gzip_bytes(&self.html).ok()?;
                Some(Gzipped {
                    bytes: bytes.into(),
                    etag: format!("{}-gz\"", self.etag.trim_end_matches('"')),
                })
            })
            .as_ref()
    }
}

#[derive(Debug, Deserialize)]
pub struct PagesQuery {
    token: Option<String>,
    /// What the page's script found out (`ipad`).
    device: Option<String>,
    /// "Is my device in this build?"
    udid: Option<String>,
}

/// What a release page needs from the database, kept per release ([`PageCaches`]).
struct ReleaseState {
    app: AppRow,
    release: ReleaseRow,
    data: ReleaseData,
}

/// What a channel page needs from the database, kept per channel ([`PageCaches`]).
struct ChannelState {
    app: AppRow,
    channel_public: bool,
    release: ReleaseRow,
    data: ReleaseData,
}

/// A release's rows, as its pages show it.
struct ReleaseData {
    artifacts: Vec<ArtifactRow>,
    /// Channels pointing at it now.
    on_channels: Vec<String>,
    /// Channels that point or ever pointed at it (a channel-limited token's reach).
    ever_on: Vec<String>,
    /// Whether anyone may see it without a credential.
    public: bool,
    /// The release the channel pointed at before this one, with its artifacts (to warn of a
    /// signing key that changed), on channel pages.
    previous: Vec<ArtifactRow>,
}

fn load_release_data(
    c: &Connection,
    rel: &ReleaseRow,
    channel: Option<&str>,
) -> AppResult<ReleaseData> {
    let artifacts: Vec<ArtifactRow> = db::list_artifacts(c, rel.id.as_str())?
        .into_iter()
        .filter(|a| a.attached)
        .collect();
    let on_channels = db::list_channels(c, rel.app.as_str())?
        .into_iter()
        .filter(|ch| ch.release_id.as_ref() == Some(&rel.id))
        .map(|ch| ch.name)
        .collect();
    let mut previous = Vec::new();
    if let Some(ch) = channel {
        // The newest move onto this release names where the channel came from.
        let prev = db::list_history(c, rel.app.as_str(), ch, 0, i64::MAX)?
            .into_iter()
            .rev()
            .find(|h| h.to_release_id.as_ref() == Some(&rel.id))
            .and_then(|h| h.from_release_id);
        if let Some(p) = prev.filter(|p| p != &rel.id) {
            previous = db::list_artifacts(c, p.as_str())?
                .into_iter()
                .filter(|a| a.attached)
                .collect();
        }
    }
    Ok(ReleaseData {
        artifacts,
        on_channels,
        ever_on: db::release_channels_ever(c, rel.app.as_str(), rel.id.as_str())?,
        public: access::release_is_public(c, rel)?,
        previous,
    })
}

/// Lets the caller in to a page of `app` (and `channel`, and `rel`) that is not public, or
/// says why not (401 without a credential, 403 without the rights).
fn caller_may_see(
    c: &Connection,
    h: &HeaderMap,
    rel: Option<&ReleaseRow>,
    app: &str,
    channel: Option<&str>,
) -> AppResult<()> {
    let caller = downloads::page_caller(c, h, None)?;
    let p = may_open(caller, app, channel)?;
    if let Some(rel) = rel {
        access::check_release(c, &p, rel, Use::Page)?;
    }
    Ok(())
}

/// [`caller_may_see`] for a release whose data is at hand, from the read-path caches: a
/// known token or session and the release's channels decide without a database read.
async fn caller_may_see_cached(
    st: &AppState,
    h: &HeaderMap,
    rel: &ReleaseRow,
    data: &ReleaseData,
    channel: Option<&str>,
) -> AppResult<()> {
    let caller = downloads::page_caller_cached(st, h).await?;
    let p = may_open(caller, rel.app.as_str(), channel)?;
    access::check_release_on(&p, rel, Use::Page, |limit| {
        Ok(limit.iter().any(|c| data.ever_on.contains(c)))
    })
}

/// The checks of a caller that do not depend on a release: a credential, the page scope, the
/// app limit and the channel limit.
fn may_open(
    caller: Option<(auth::Principal, Via)>,
    app: &str,
    channel: Option<&str>,
) -> AppResult<auth::Principal> {
    let (p, via) = caller.ok_or_else(downloads::no_credential)?;
    downloads::page_scope(&p, via)?;
    p.require_app(app)?;
    if let Some(ch) = channel {
        p.require_channel(ch)?;
    }
    Ok(p)
}

/// `?token=` on a page: checks the token may open the app's pages, starts a page session and
/// redirects to the same address without the token.
async fn exchange_link(
    st: &AppState,
    uri: &Uri,
    app: String,
    channel: Option<String>,
    token: String,
) -> AppResult<Response> {
    let (value, max_age) = st
        .db
        .write(move |tx| {
            services::app_row(tx, &app)?;
            let p = auth::authenticate(tx, &token)?;
            downloads::page_scope(&p, Via::Link)?;
            p.require_app(&app)?;
            if let Some(ch) = &channel {
                p.require_channel(ch)?;
            }
            sessions::create(tx, Kind::Page, &p, sessions::PAGE_SESSION_SECS)
        })
        .await?;
    downloads::session_redirect(st, uri, &value, max_age)
}

fn user_agent(h: &HeaderMap) -> &str {
    h.get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn device_of(h: &HeaderMap, q: &PagesQuery) -> Device {
    Device::from_user_agent(user_agent(h), q.device.as_deref())
}

fn app_url(st: &AppState, app: &str) -> String {
    format!("{}/apps/{app}", st.base())
}

/// The grant a page's link carries until the page is served: the cached page holds this,
/// each answer a fresh grant (hex ids and a fixed form, so one never prefixes another).
fn placeholder(artifact: &str, purpose: Purpose) -> String {
    let p = match purpose {
        Purpose::Download => 'f',
        Purpose::Document => 'd',
    };
    format!("distgrant-{p}-{artifact}")
}

/// Links for one artifact on a release page: plain on a public page, else with grant
/// placeholders ([`placeholder`]).
fn page_links(st: &AppState, id: &str, public: bool, has_icon: bool) -> Links {
    let base = st.base().to_owned();
    let grant = |purpose| {
        if public {
            String::new()
        } else {
            format!("?grant={}", placeholder(id, purpose))
        }
    };
    let links = Links {
        documents: format!("{base}/i/{id}{}", grant(Purpose::Document)),
        download: format!("{base}/i/{id}/download{}", grant(Purpose::Download)),
        icon: None,
        base,
    };
    Links {
        icon: has_icon.then(|| links.document(ICON_DOC)),
        ..links
    }
}

fn severity_word(s: platform::Severity) -> &'static str {
    match s {
        platform::Severity::Error => "error",
        platform::Severity::Warning => "warning",
        platform::Severity::Info => "info",
    }
}

/// One artifact's section, its fit, and its place in the release.
struct Section {
    rank: FitRank,
    position: i64,
    section: ui::ArtifactSection,
    icon: Option<String>,
}

/// Renders a release page (grant placeholders in place of grants).
#[allow(clippy::too_many_arguments)]
fn render_release(
    st: &AppState,
    app: &AppRow,
    rel: &ReleaseRow,
    data: &ReleaseData,
    channel: Option<&str>,
    h: &HeaderMap,
    device: &Device,
    udid: Option<&str>,
) -> AppResult<Rendered> {
    // Targets read the device from the User-Agent too: an iPad asking for desktop sites (told
    // by the page's script) is named one for them as well.
    let ua = user_agent(h);
    let client = if device.os == platform::DeviceOs::Ios
        && device.tablet
        && !ua.to_ascii_lowercase().contains("ipad")
    {
        Client::new(&format!("(iPad; desktop mode) {ua}"))
    } else {
        Client::new(ua)
    };
    let platforms = platform::api::PlatformList::from_registry(st.registry).platforms;
    let mut sections = Vec::new();
    for a in &data.artifacts {
        let (Some(pid), Some(kind)) = (&a.platform, &a.kind) else {
            continue;
        };
        let Ok(target) = services::target_for(st.registry, pid.as_str()) else {
            continue;
        };
        let Some(info) = platforms.iter().find(|p| p.id == *pid).cloned() else {
            continue;
        };
        let inspection = services::stored_inspection(a)?;
        let links = page_links(st, a.id.as_str(), data.public, a.icon_sha256.is_some());
        let view = ArtifactView {
            id: a.id.as_str(),
            file_name: a.file_name.as_ref(),
            kind,
            size: a.size.unwrap_or(0),
            sha256: a.sha256.as_ref(),
            arch: a.arch.as_ref(),
            install_mode: a.install_mode.clone(),
            link: a.link.as_deref(),
            inspection: inspection.as_ref(),
            notarization: a.notarization.as_ref(),
            app_name: &app.name,
        };
        let mut actions = target.install_actions(&view, &links, &client);
        actions.sort_by_key(|x| !x.primary);
        let mut fit = target.fit(&view, device);
        // An artifact for this device whose install cannot happen (plain http, an expired
        // profile) is not the one to offer first; its action says why.
        if fit.rank == FitRank::Installs
            && let Some(first) = actions.first()
            && !first.available
        {
            fit.rank = FitRank::Fits;
            fit.note = first.reason.clone();
        }
        let mut findings: Vec<(platform::Severity, String)> = inspection
            .as_ref()
            .map(|i| {
                i.findings
                    .iter()
                    .map(|f| (f.severity, f.message.clone()))
                    .collect()
            })
            .unwrap_or_default();
        // The release the channel held before: an update signed by another key does not
        // install over it.
        if let Some(i) = &inspection {
            for prev in data
                .previous
                .iter()
                .filter(|p| p.platform == a.platform && p.kind == a.kind)
            {
                if let Some(pi) = services::stored_inspection(prev)?
                    && pi.identity == i.identity
                {
                    for f in target.check_continuity(&pi, i) {
                        findings.push((
                            platform::Severity::Warning,
                            format!(
                                "Differs from the build this channel held before: {}",
                                f.message
                            ),
                        ));
                    }
                }
            }
        }
        findings.sort_by_key(|(s, _)| match s {
            platform::Severity::Error => 0,
            platform::Severity::Warning => 1,
            platform::Severity::Info => 2,
        });
        findings.truncate(MAX_FINDINGS);
        let registered = target.registered_devices(&view);
        let device_answer = match (&registered, udid) {
            (Some(list), Some(u)) => Some(ui::DeviceAnswer {
                id: u.to_owned(),
                listed: list.lists(u),
                not_listed: list.not_listed.clone(),
            }),
            _ => None,
        };
        sections.push(Section {
            rank: fit.rank,
            position: a.position,
            icon: links.icon.clone(),
            section: ui::ArtifactSection {
                file_name: a.file_name.as_ref().map(|f| f.as_str().to_owned()),
                size: a.size.unwrap_or(0),
                sha256: a.sha256.map(|d| d.hex()),
                arch: a.arch.as_ref().map(|x| x.to_string()),
                platform: info,
                kind: kind.clone(),
                mode: a.install_mode.clone(),
                facts: target.page_facts(&view),
                actions,
                fit_note: fit.note,
                findings: findings
                    .into_iter()
                    .map(|(s, m)| (severity_word(s).to_owned(), m))
                    .collect(),
                device_check: registered.map(|l| ui::DeviceCheck {
                    id_name: l.id_name,
                    where_to_find: l.where_to_find,
                }),
                device_answer,
            },
        });
    }
    sections.sort_by_key(|s| (s.rank, s.position));
    let icon_url = sections.iter().find_map(|s| s.icon.clone());
    let source = rel
        .source
        .as_deref()
        .and_then(|s| serde_json::from_str::<platform::manifest::Source>(s).ok())
        .map(|s| ui::SourceFacts {
            commit: s.commit,
            branch: s.branch,
            ci_url: s.ci_url,
        });
    let page_url = match channel {
        Some(ch) => format!("{}/channels/{ch}", app_url(st, rel.app.as_str())),
        None => format!("{}/releases/{}", app_url(st, rel.app.as_str()), rel.id),
    };
    let page = ui::ReleasePage {
        app_name: app.name.clone(),
        app_url: app_url(st, rel.app.as_str()),
        version: rel.version.to_string(),
        build: rel.build.to_string(),
        release_id: rel.id.to_string(),
        published: rel
            .published_at
            .as_deref()
            .map(|d| d.get(..10).unwrap_or(d).to_owned()),
        channel: channel.map(str::to_owned),
        on_channels: data
            .on_channels
            .iter()
            .map(|c| {
                (
                    c.clone(),
                    format!("{}/channels/{c}", app_url(st, rel.app.as_str())),
                )
            })
            .collect(),
        icon_url,
        notes_html: rel
            .notes
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(ui::notes_html),
        source,
        device: device.describe(),
        refine_touch: device.os == platform::DeviceOs::Mac,
        in_app: device.in_app.map(str::to_owned),
        qr_svg: ui::qr_svg(&page_url).unwrap_or_default(),
        page_url,
        artifacts: sections.into_iter().map(|s| s.section).collect(),
    };
    let html = page
        .render()
        .map_err(|e| AppError::internal("render release page", e))?;
    let digest = sha2::Sha256::digest(html.as_bytes());
    Ok(Rendered {
        etag: format!("\"p-{}\"", hex::encode(&digest[..12])),
        artifacts: data.artifacts.iter().map(|a| a.id.to_string()).collect(),
        html: html.into(),
        gzipped: Default::default(),
    })
}

/// Serves a rendered page: a public one with its ETag (304 when the browser has it), gzipped
/// from the bytes kept with it when the client accepts that; any other with fresh grants in
/// place of the placeholders and never kept by the browser.
fn serve_rendered(st: &AppState, h: &HeaderMap, r: &Rendered, public: bool) -> Response {
    let html_type = HeaderValue::from_static("text/html; charset=utf-8");
    let mut res = if public {
        let gz = compress::accepts_gzip(h).then(|| r.gzipped()).flatten();
        let etag = gz.map_or(r.etag.as_str(), |g| g.etag.as_str());
        let mut res = if downloads::not_modified(h, etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut res = match gz {
                Some(g) => Response::new(Body::from(g.bytes.clone())),
                None => Response::new(Body::from(r.html.clone())),
            };
            res.headers_mut().insert(header::CONTENT_TYPE, html_type);
            if gz.is_some() {
                res.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            res
        };
        let hs = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(etag) {
            hs.insert(header::ETAG, v);
        }
        // Set here: the middleware leaves an answer that is encoded already alone.
        hs.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        hs.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_REVALIDATE),
        );
        res
    } else {
        let now = util::now_unix();
        // Rendered from a String: lossless.
        let mut html = String::from_utf8_lossy(&r.html).into_owned();
        for id in &r.artifacts {
            for purpose in [Purpose::Download, Purpose::Document] {
                let ph = placeholder(id, purpose);
                if html.contains(&ph) {
                    html = html.replace(&ph, &st.grants.mint(id, purpose, now));
                }
            }
        }
        let mut res = Html(html).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_NONE));
        res
    };
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'",
        ),
    );
    res
}

/// A UDID as pasted: letters, digits and dashes, bounded.
fn udid_of(q: &PagesQuery) -> AppResult<Option<String>> {
    let Some(u) = q.udid.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    if u.len() > MAX_UDID || !u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(AppError::bad_request(format!(
            "{:?} is not a UDID: a UDID is 25 or 40 letters, digits and dashes (Finder or Apple Configurator shows it)",
            u.chars().take(80).collect::<String>()
        )));
    }
    Ok(Some(u.to_owned()))
}

/// The page of a release, rendered or from the cache, once the caller may see it (anyone
/// when `public`).
#[allow(clippy::too_many_arguments)]
async fn release_response(
    st: &AppState,
    h: &HeaderMap,
    q: &PagesQuery,
    app: &AppRow,
    rel: &ReleaseRow,
    data: &ReleaseData,
    channel: Option<&str>,
    public: bool,
    generation: u64,
) -> AppResult<Response> {
    if !public {
        caller_may_see_cached(st, h, rel, data, channel).await?;
    }
    let device = device_of(h, q);
    let udid = udid_of(q)?;
    if udid.is_some() {
        // An answer for one device: rendered for it alone.
        let r = render_release(st, app, rel, data, channel, h, &device, udid.as_deref())?;
        return Ok(serve_rendered(st, h, &r, public));
    }
    let key = PageKey {
        release: rel.id.to_string(),
        channel: channel.map(str::to_owned),
        device: device.class(),
        public,
    };
    let r = match st.pages.pages.get(&key, generation) {
        Some(r) => r,
        None => {
            let r = Arc::new(render_release(
                st, app, rel, data, channel, h, &device, None,
            )?);
            st.pages.pages.put(key, generation, r.clone());
            r
        }
    };
    Ok(serve_rendered(st, h, &r, public))
}

/// A withdrawn release: 410, with the channel's current build to go to instead.
fn withdrawn(st: &AppState, rel: &ReleaseRow, next: Option<(String, String)>) -> Response {
    let message = format!(
        "Build {} ({}) was withdrawn{}. It is no longer served.",
        rel.version,
        rel.build,
        rel.revoke_reason
            .as_deref()
            .map(|r| format!(": {}", platform::text::escape_hidden(r)))
            .unwrap_or_default()
    );
    let next_ref = next
        .as_ref()
        .map(|(label, url)| (label.as_str(), url.as_str()));
    let app_link = app_url(st, rel.app.as_str());
    let page = ui::ErrorPage {
        status: 410,
        title: "Gone",
        code: "gone",
        message: &message,
        next: next_ref.or(Some(("the app's page", app_link.as_str()))),
    };
    match page.render() {
        Ok(html) => (
            StatusCode::GONE,
            [(header::CACHE_CONTROL, CACHE_NONE)],
            Html(html),
        )
            .into_response(),
        Err(e) => AppError::internal("render 410 page", e).into_response(),
    }
}

/// Where to send someone who opened a withdrawn release: the current build of a channel that
/// held it.
fn current_instead(
    st: &AppState,
    c: &Connection,
    rel: &ReleaseRow,
) -> AppResult<Option<(String, String)>> {
    for ch in db::list_channels(c, rel.app.as_str())? {
        let Some(cur) = ch.release_id.as_ref() else {
            continue;
        };
        if cur == &rel.id
            || !db::release_on_channels(
                c,
                rel.app.as_str(),
                std::slice::from_ref(&ch.name),
                rel.id.as_str(),
            )?
        {
            continue;
        }
        if let Some(cur) = db::get_release(c, cur.as_str())?
            && cur.status == ReleaseStatus::Published
        {
            return Ok(Some((
                format!(
                    "the current build of channel {}: {} ({})",
                    ch.name, cur.version, cur.build
                ),
                format!("{}/channels/{}", app_url(st, rel.app.as_str()), ch.name),
            )));
        }
    }
    Ok(None)
}

/// Whether a withdrawn release may say so to this caller: it would be public if it were
/// still published, or the caller may read it.
fn may_hear_of(c: &Connection, h: &HeaderMap, rel: &ReleaseRow) -> AppResult<()> {
    let app_public = db::get_app(c, rel.app.as_str())?
        .is_some_and(|a| a.access == platform::api::Access::Public.as_str());
    if app_public || db::release_on_public_channel(c, rel.app.as_str(), rel.id.as_str())? {
        return Ok(());
    }
    caller_may_see(c, h, Some(rel), rel.app.as_str(), None)
}

async fn release_page(
    State(st): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    ApiPath((app, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PagesQuery>,
) -> AppResult<Response> {
    let slug: AppSlug = page_id_slug(&app)?;
    if let Some(token) = q.token.clone() {
        return exchange_link(&st, &uri, slug.to_string(), None, token).await;
    }
    let id: ReleaseId = page_id(&id)?;
    let generation = st.db.generation();
    let key = (slug.to_string(), id.to_string());
    let state = match st.pages.releases.get(&key, generation) {
        Some(s) => s,
        None => {
            let (st2, h2) = (st.clone(), h.clone());
            let loaded = st
                .db
                .read(move |c| {
                    let app = services::app_row(c, slug.as_str())?;
                    let rel = db::get_release(c, id.as_str())?
                        .filter(|r| r.app == slug)
                        .ok_or_else(|| {
                            AppError::not_found(format!("app {slug} has no release {id}"))
                        })?;
                    if rel.status == ReleaseStatus::Revoked {
                        may_hear_of(c, &h2, &rel)?;
                        return Ok(Err((current_instead(&st2, c, &rel)?, rel)));
                    }
                    let data = load_release_data(c, &rel, None)?;
                    Ok(Ok(ReleaseState {
                        app,
                        release: rel,
                        data,
                    }))
                })
                .await?;
            match loaded {
                Err((next, rel)) => return Ok(withdrawn(&st, &rel, next)),
                Ok(s) => {
                    let s = Arc::new(s);
                    st.pages.releases.put(key, generation, s.clone());
                    s
                }
            }
        }
    };
    let public = state.data.public;
    release_response(
        &st,
        &h,
        &q,
        &state.app,
        &state.release,
        &state.data,
        None,
        public,
        generation,
    )
    .await
}

fn page_id_slug(app: &str) -> AppResult<AppSlug> {
    app.parse::<AppSlug>().map_err(|_| {
        AppError::not_found(format!(
            "app {:?} not found",
            app.chars().take(80).collect::<String>()
        ))
    })
}

async fn channel_page(
    State(st): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    ApiPath((app, channel)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<PagesQuery>,
) -> AppResult<Response> {
    let slug = page_id_slug(&app)?;
    let channel: ChannelName = parse_seg(&channel)
        .map_err(|_| AppError::not_found(format!("app {slug} has no channel {channel:?}")))?;
    if let Some(token) = q.token.clone() {
        return exchange_link(
            &st,
            &uri,
            slug.to_string(),
            Some(channel.to_string()),
            token,
        )
        .await;
    }
    let generation = st.db.generation();
    let key = (slug.to_string(), channel.to_string());
    let state = match st.pages.channels.get(&key, generation) {
        Some(s) => s,
        None => {
            let (st2, slug2, ch2) = (st.clone(), slug.clone(), channel.clone());
            let loaded = st
                .db
                .read(move |c| {
                    let app = services::app_row(c, slug2.as_str())?;
                    let ch =
                        db::get_channel(c, slug2.as_str(), ch2.as_str())?.ok_or_else(|| {
                            AppError::not_found(format!("app {slug2} has no channel {ch2}"))
                        })?;
                    let rid = ch.release_id.ok_or_else(|| {
                        AppError::not_found(format!(
                            "channel {ch2} of {slug2} points at no release yet"
                        ))
                    })?;
                    let rel = db::get_release(c, rid.as_str())?
                        .ok_or_else(|| AppError::not_found(format!("release {rid} not found")))?;
                    let channel_public =
                        access::channel_is_public(c, slug2.as_str(), ch2.as_str())?;
                    if rel.status == ReleaseStatus::Revoked {
                        return Ok(Err((current_instead(&st2, c, &rel)?, rel, channel_public)));
                    }
                    let data = load_release_data(c, &rel, Some(ch2.as_str()))?;
                    Ok(Ok(ChannelState {
                        app,
                        channel_public,
                        release: rel,
                        data,
                    }))
                })
                .await?;
            match loaded {
                Ok(s) => {
                    let s = Arc::new(s);
                    st.pages.channels.put(key, generation, s.clone());
                    s
                }
                Err((next, rel, public)) => {
                    if !public {
                        let (h2, rel2, ch) = (h.clone(), rel.clone(), channel.to_string());
                        st.db
                            .read(move |c| {
                                caller_may_see(c, &h2, None, rel2.app.as_str(), Some(&ch))
                            })
                            .await?;
                    }
                    return Ok(withdrawn(&st, &rel, next));
                }
            }
        }
    };
    // A public channel shows its release to anyone; else the caller's rights decide.
    let public = state.channel_public || state.data.public;
    release_response(
        &st,
        &h,
        &q,
        &state.app,
        &state.release,
        &state.data,
        Some(channel.as_str()),
        public,
        generation,
    )
    .await
}

async fn app_page(
    State(st): State<AppState>,
    h: HeaderMap,
    uri: Uri,
    ApiPath(app): ApiPath<String>,
    ApiQuery(q): ApiQuery<PagesQuery>,
) -> AppResult<Response> {
    let slug = page_id_slug(&app)?;
    if let Some(token) = q.token.clone() {
        return exchange_link(&st, &uri, slug.to_string(), None, token).await;
    }
    let generation = st.db.generation();
    let overview = match st.pages.apps.get(&slug.to_string(), generation) {
        Some(o) => o,
        None => {
            let (slug2, url) = (slug.clone(), app_url(&st, slug.as_str()));
            let o = Arc::new(
                st.db
                    .read(move |c| load_app_overview(c, &slug2, url))
                    .await?,
            );
            st.pages.apps.put(slug.to_string(), generation, o.clone());
            o
        }
    };
    // The caller from the caches: a known token or session decides without a database read.
    let caller = match downloads::page_caller_cached(&st, &h).await? {
        Some((p, via)) => {
            downloads::page_scope(&p, via)?;
            p.require_app(slug.as_str())?;
            Some(p)
        }
        None => None,
    };
    let visible: Vec<&ChannelOverview> = overview
        .channels
        .iter()
        .filter(|ch| {
            overview.app_public
                || ch.public
                || caller
                    .as_ref()
                    .is_some_and(|p| p.require_channel(&ch.name).is_ok())
        })
        .collect();
    if visible.is_empty() && !overview.app_public && caller.is_none() {
        return Err(downloads::no_credential());
    }
    // The icon of the first channel shown whose release has one; it links with a grant
    // unless its release is public.
    let icon_url = visible
        .iter()
        .find_map(|ch| ch.icon.as_ref())
        .map(|(aid, public)| {
            let grant = if *public {
                String::new()
            } else {
                format!(
                    "?grant={}",
                    st.grants
                        .mint(aid.as_str(), Purpose::Document, util::now_unix())
                )
            };
            format!("{}/i/{aid}/{ICON_DOC}{grant}", st.base())
        });
    let page = ui::AppPage {
        app_name: overview.app.name.clone(),
        icon_url,
        channels: visible
            .iter()
            .map(|ch| ui::ChannelLine {
                url: format!("{}/channels/{}", overview.page_url, ch.name),
                name: ch.name.clone(),
                current: ch.current.clone(),
            })
            .collect(),
        qr_svg: overview.qr_svg.clone(),
        page_url: overview.page_url.clone(),
    };
    let html = page
        .render()
        .map_err(|e| AppError::internal("render app page", e))?;
    Ok((
        [
            (header::CACHE_CONTROL, CACHE_NONE),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self'; style-src 'self'",
            ),
        ],
        Html(html),
    )
        .into_response())
}

/// What the app page needs from the database, kept per app ([`PageCaches`]): every channel,
/// whoever asks; each answer keeps the ones its caller may see.
struct AppOverview {
    app: AppRow,
    app_public: bool,
    channels: Vec<ChannelOverview>,
    page_url: String,
    /// The page URL's QR code, made once per app and generation.
    qr_svg: String,
}

struct ChannelOverview {
    name: String,
    public: bool,
    /// The current release in words ("1.2 (45), 2026-11-30", "no release yet").
    current: String,
    /// An artifact of the current published release with an icon, and whether that release
    /// is public.
    icon: Option<(platform::ArtifactId, bool)>,
}

fn load_app_overview(c: &Connection, slug: &AppSlug, page_url: String) -> AppResult<AppOverview> {
    let app = services::app_row(c, slug.as_str())?;
    let app_public = app.access == platform::api::Access::Public.as_str();
    let mut channels = Vec::new();
    for ch in db::list_channels(c, slug.as_str())? {
        let mut icon = None;
        let current = match &ch.release_id {
            None => "no release yet".to_owned(),
            Some(rid) => match db::get_release(c, rid.as_str())? {
                Some(r) if r.status == ReleaseStatus::Published => {
                    if let Some(a) = db::list_artifacts(c, rid.as_str())?
                        .into_iter()
                        .find(|a| a.icon_sha256.is_some())
                    {
                        icon = Some((a.id, access::release_is_public(c, &r)?));
                    }
                    format!(
                        "{} ({}){}",
                        r.version,
                        r.build,
                        r.published_at
                            .as_deref()
                            .map(|d| format!(", {}", d.get(..10).unwrap_or(d)))
                            .unwrap_or_default()
                    )
                }
                Some(r) if r.status == ReleaseStatus::Revoked => {
                    format!("{} ({}) was withdrawn", r.version, r.build)
                }
                _ => "no published release".to_owned(),
            },
        };
        channels.push(ChannelOverview {
            public: ch.access == platform::api::Access::Public.as_str(),
            name: ch.name,
            current,
            icon,
        });
    }
    Ok(AppOverview {
        app,
        app_public,
        channels,
        qr_svg: ui::qr_svg(&page_url).unwrap_or_default(),
        page_url,
    })
}
