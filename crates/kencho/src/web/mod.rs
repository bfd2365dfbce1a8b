//! The web layer: server-rendered pages for people and a JSON API for systems, both thin over
//! the capability modules.

pub mod accounts;
pub mod admin;
pub mod applications;
pub mod approval;
pub mod audit;
pub mod documents;
pub mod evacuation;
pub mod form_html;
pub mod gate;
pub mod iot;
pub mod openapi;
pub mod payments;
pub mod serve;

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::accounts::{Principal, Resident, Session, Staff};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::i18n;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub cfg: Arc<Config>,
    /// In-memory hazard layers per tenant (マイ避難 look-ups).
    pub atlases: Arc<crate::evacuation::layers::Atlases>,
    /// Parsed organisations and 専決 tables per tenant (電子決裁).
    pub approval: Arc<crate::approval::setup::SetupCache>,
    /// The capabilities wired together (see [`crate::flows`]).
    pub links: crate::flows::Links,
}

pub const SESSION_COOKIE: &str = "kencho_session";
pub const CSRF_COOKIE: &str = "kencho_csrf";
pub const LANG_COOKIE: &str = "kencho_lang";
/// A browser that signed in to an account before (see `accounts::limits`).
pub const DEVICE_COOKIE: &str = "kencho_device";
/// Largest request body: a 20 MiB attachment plus form overhead (the gate sets each route's
/// own limit; see [`gate`]).
pub const MAX_BODY: usize = 21 * 1024 * 1024;

/// Per-request facts the middleware works out once: language, the anonymous CSRF token,
/// the client address.
#[derive(Clone)]
pub struct ReqInfo {
    pub lang: String,
    pub anon_csrf: String,
    pub ip: String,
    pub path: String,
    /// The device cookie, if the browser has one.
    pub device: Option<String>,
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn cookie_header(cfg: &Config, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if cfg.secure_cookies { "; Secure" } else { "" };
    let age = max_age.map(|a| format!("; Max-Age={a}")).unwrap_or_default();
    let v = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Sets language and CSRF cookies, and security headers on every response.
async fn prepare(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let query_lang = req.uri().query().and_then(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v)
    });
    let cookie_lang = cookie(headers, LANG_COOKIE).map(str::to_string);
    let accept_en = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("en"));
    let lang = query_lang
        .clone()
        .filter(|l| i18n::supported(l))
        .or(cookie_lang.filter(|l| i18n::supported(l)))
        .unwrap_or_else(|| if accept_en { "en".into() } else { "ja".into() });
    let existing_csrf = cookie(headers, CSRF_COOKIE).filter(|c| c.len() >= 20 && c.len() <= 64).map(str::to_string);
    // The API takes no cookies, so it needs no CSRF token.
    let is_api = req.uri().path().starts_with("/api/");
    let anon_csrf =
        existing_csrf.clone().unwrap_or_else(|| if is_api { String::new() } else { crate::crypto::random_token() });
    let ip = client_ip(&state.cfg, &req);
    let path = req.uri().path().to_string();
    let device = cookie(req.headers(), DEVICE_COOKIE).filter(|d| d.len() <= 100).map(str::to_string);
    req.extensions_mut().insert(ReqInfo {
        lang: lang.clone(),
        anon_csrf: anon_csrf.clone(),
        ip,
        path: path.clone(),
        device,
    });
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if existing_csrf.is_none() && !is_api {
        h.append(header::SET_COOKIE, cookie_header(&state.cfg, CSRF_COOKIE, &anon_csrf, None));
    }
    if let Some(l) = query_lang.filter(|l| i18n::supported(l)) {
        h.append(header::SET_COOKIE, cookie_header(&state.cfg, LANG_COOKIE, &l, Some(31_536_000)));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"),
    );
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if state.cfg.secure_cookies {
        // Served over HTTPS: browsers must not come back over plain HTTP for a year.
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if is_api {
        return json_rejection(res).await;
    }
    res
}

/// The client's address: the peer, or, when the peer is a trusted reverse proxy, the last
/// address it added to `X-Forwarded-For` (the one it saw; earlier entries are the client's word).
fn client_ip(cfg: &Config, req: &Request) -> String {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let Some(peer) = peer else {
        return "unknown".into();
    };
    if cfg.trusted_proxies.contains(&peer) {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .rfind(|a| !cfg.trusted_proxies.contains(a));
        if let Some(a) = forwarded {
            return a.to_string();
        }
    }
    peer.to_string()
}

/// Rejections made by axum's extractors (a bad path, query or JSON body) answer in plain text;
/// the API answers every error as JSON with a stable `code`.
async fn json_rejection(res: Response) -> Response {
    let is_text = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || !is_text {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let code = crate::error::rejection_code(status);
    let message = String::from_utf8_lossy(&text).chars().take(500).collect::<String>();
    let mut res = (status, axum::Json(serde_json::json!({"code": code, "message": message}))).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            res.headers_mut().insert(k.clone(), v.clone());
        }
    }
    res
}

/// Who is asking: the session from the cookie (pages) or a bearer token (API).
pub struct Ctx {
    pub info: ReqInfo,
    pub session: Option<Session>,
    pub bearer: bool,
    /// What waits in the staff member's 電子決裁 boxes, for the menu (pages only).
    pub approval: crate::approval::kian::Counts,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<ReqInfo>().cloned().unwrap_or(ReqInfo {
            lang: "ja".into(),
            anon_csrf: String::new(),
            ip: "unknown".into(),
            device: None,
            path: parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map(|u| u.path().to_string())
                .unwrap_or_else(|| parts.uri.path().to_string()),
        });
        // `info.path` is the full path; inside nested routers `parts.uri` has lost its prefix.
        let is_api = info.path.starts_with("/api/");
        // The gate looked the caller up already (and refused what it must).
        let session = match parts.extensions.get::<gate::Caller>() {
            Some(c) => c.0.clone(),
            None => None,
        };
        let bearer = is_api;
        let mut approval = crate::approval::kian::Counts::default();
        if let Some(Session { principal: Principal::Staff(s), mfa_ok: true, .. }) = &session {
            // Only pages shown (GET) carry the menu; posts that redirect need no counts.
            if !is_api && parts.method == axum::http::Method::GET {
                let setup = state.approval.get(&state.db, s.tenant_id).await?;
                approval = crate::approval::kian::counts(&state.db, &setup, s).await?;
            }
        }
        Ok(Ctx { info, session, bearer, approval })
    }
}

impl Ctx {
    pub fn lang(&self) -> &str {
        &self.info.lang
    }

    /// Where a sign-in comes from (address and device cookie).
    pub fn client(&self) -> crate::accounts::Client<'_> {
        crate::accounts::Client { ip: &self.info.ip, device: self.info.device.as_deref() }
    }

    pub fn resident(&self) -> Result<&Resident, AppError> {
        match self.session.as_ref().map(|s| &s.principal) {
            Some(Principal::Resident(r)) => Ok(r),
            Some(Principal::Staff(_) | Principal::Integration { .. }) => Err(AppError::Forbidden),
            None => Err(AppError::Unauthenticated),
        }
    }

    /// A staff member who has passed the second factor.
    pub fn staff(&self) -> Result<&Staff, AppError> {
        match self.session.as_ref() {
            Some(Session { principal: Principal::Staff(s), mfa_ok: true, .. }) => Ok(s),
            Some(Session { principal: Principal::Staff(_), .. }) => Err(AppError::MfaRequired),
            Some(_) => Err(AppError::Forbidden),
            None => Err(AppError::Unauthenticated),
        }
    }

    /// The signed-in account itself, through its session (not an API token): a resident, or
    /// staff past the second factor. With the session's token hash, to keep it.
    pub fn account(&self) -> Result<(crate::accounts::AccountKind, i64, &str), AppError> {
        use crate::accounts::AccountKind;
        let s = self.session.as_ref().ok_or(AppError::Unauthenticated)?;
        if s.api_token.is_some() {
            return Err(AppError::Forbidden);
        }
        match &s.principal {
            Principal::Resident(r) => Ok((AccountKind::Resident, r.id, &s.token_hash)),
            Principal::Staff(_) => Ok((AccountKind::Staff, self.staff()?.id, &s.token_hash)),
            Principal::Integration { .. } => Err(AppError::Forbidden),
        }
    }

    /// A tenant administrator (who has passed the second factor).
    pub fn admin(&self) -> Result<&Staff, AppError> {
        let s = self.staff()?;
        if s.role == kencho_core::application::Role::Admin {
            Ok(s)
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn csrf(&self) -> String {
        match &self.session {
            Some(s) if !self.bearer => s.csrf.clone(),
            _ => self.info.anon_csrf.clone(),
        }
    }

    /// Every form post carries the token; a post without the right one changes nothing.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), AppError> {
        let expected = self.csrf();
        match sent {
            Some(s) if !expected.is_empty() && constant_eq(s.as_bytes(), expected.as_bytes()) => Ok(()),
            _ => Err(AppError::Csrf),
        }
    }

    pub fn layout(&self, state: &AppState, title: &str) -> Layout {
        let (user, staff_user) = match self.session.as_ref().map(|s| &s.principal) {
            Some(Principal::Resident(r)) => (Some(r.name.clone()), false),
            Some(Principal::Staff(s)) => (
                Some(format!("{}（{} {}）", s.name, s.tenant_name, crate::i18n::words::role(self.lang(), s.role))),
                true,
            ),
            Some(Principal::Integration { .. }) | None => (None, false),
        };
        Layout {
            lang: self.lang().to_string(),
            csrf: self.csrf(),
            user,
            staff: staff_user,
            title: title.to_string(),
            mailbox: state.cfg.demo_mailbox,
            path: self.info.path.clone(),
            approval_waiting: self.approval.pending + self.approval.kouetsu + self.approval.kyoran,
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What every page's frame needs.
pub struct Layout {
    pub lang: String,
    pub csrf: String,
    pub user: Option<String>,
    pub staff: bool,
    pub title: String,
    pub mailbox: bool,
    pub path: String,
    /// Items waiting in the 電子決裁 boxes (未処理, 後閲, 供覧), shown on the menu.
    pub approval_waiting: i64,
}

impl Layout {
    pub fn t(&self, key: &str) -> String {
        i18n::t(&self.lang, key)
    }
    pub fn en(&self) -> bool {
        self.lang == "en"
    }
    /// The other languages, for the switcher: (tag, name in that language).
    pub fn other_langs(&self) -> Vec<(&'static str, String)> {
        i18n::languages().into_iter().filter(|(l, _)| *l != self.lang).collect()
    }
}

/// An error shown as a page, in the user's language.
pub struct PageError {
    pub err: AppError,
    pub lang: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    message: String,
    code: String,
    login: bool,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.err.is_server_fault() {
            tracing::error!(error = %self.err.with_causes(), "page failed");
        }
        if matches!(self.err, AppError::MfaRequired) {
            return Redirect::to("/staff/mfa").into_response();
        }
        let l = Layout {
            lang: self.lang.clone(),
            csrf: String::new(),
            user: None,
            staff: false,
            title: i18n::t(&self.lang, "error.title"),
            mailbox: false,
            path: "/".into(),
            approval_waiting: 0,
        };
        let page = ErrorPage {
            message: self.err.message(&self.lang),
            code: self.err.code().to_string(),
            login: matches!(self.err, AppError::Unauthenticated),
            l,
        };
        let status = self.err.status();
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.err.message(&self.lang)).into_response(),
        }
    }
}

pub type PageResult = Result<Response, PageError>;

/// Tags an error with the language of the page that failed.
pub trait InLang<T> {
    fn lang(self, lang: &str) -> Result<T, PageError>;
}

impl<T, E: Into<AppError>> InLang<T> for Result<T, E> {
    fn lang(self, lang: &str) -> Result<T, PageError> {
        self.map_err(|e| PageError { err: e.into(), lang: lang.to_string() })
    }
}

pub fn render<T: Template>(t: &T) -> Result<Response, AppError> {
    t.render().map(|h| Html(h).into_response()).map_err(AppError::unexpected)
}

pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Result<Response, AppError> {
    t.render().map(|h| (status, Html(h)).into_response()).map_err(AppError::unexpected)
}

/// Parses an urlencoded form body into pairs; malformed bodies are a clear 400.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_form_body")))?;
    // NUL is never text, and PostgreSQL refuses it: reject it here, for both databases alike.
    if pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(AppError::BadRequest(detail!("detail.request.form_contains_nul_character")));
    }
    Ok(pairs)
}

/// A staff member's form post: the parsed body after its CSRF token is checked, and who sent
/// it (a tenant administrator when `admin`). Errors come back as pages in the user's language.
pub fn staff_form(ctx: &Ctx, body: &[u8], admin: bool) -> Result<(Vec<(String, String)>, Staff), PageError> {
    let lang = ctx.lang();
    let form = parse_form(body).lang(lang)?;
    ctx.check_csrf(form_get(&form, "csrf")).lang(lang)?;
    let s = if admin { ctx.admin() } else { ctx.staff() }.lang(lang)?.clone();
    Ok((form, s))
}

/// Reads the multipart fields of an upload form: csrf, an optional `kind`, and one file.
async fn read_upload(
    mut mp: axum::extract::Multipart,
) -> Result<(Option<String>, Option<String>, Option<(String, String)>), AppError> {
    let (mut csrf, mut kind, mut file) = (None, None, None);
    while let Some(field) =
        mp.next_field().await.map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(field.text().await.map_err(|_| AppError::BadRequest(detail!("detail.request.csrf")))?)
            }
            Some("kind") => {
                kind = Some(field.text().await.map_err(|_| AppError::BadRequest(detail!("detail.request.kind")))?)
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::TooLarge)?;
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| AppError::BadRequest(detail!("detail.request.file_utf_8_text")))?;
                if !text.is_empty() {
                    file = Some((name, text));
                }
            }
            _ => {}
        }
    }
    Ok((csrf, kind, file))
}

/// A multipart body's text fields and every non-empty `file` part, as bytes (a data layer may be
/// several files, zipped or not, in any encoding: the caller decodes).
async fn read_uploads(
    mut mp: axum::extract::Multipart,
) -> Result<(Vec<(String, String)>, Vec<crate::evacuation::upload::Upload>), AppError> {
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(field) =
        mp.next_field().await.map_err(|_| AppError::BadRequest(detail!("detail.request.malformed_upload")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(|_| AppError::TooLarge)?;
            if !bytes.is_empty() {
                files.push(crate::evacuation::upload::Upload::new(file_name, bytes.to_vec()));
            }
        } else {
            let text = field
                .text()
                .await
                .map_err(|_| AppError::BadRequest(detail!("detail.request.field_unreadable", field = &name)))?;
            fields.push((name, text));
        }
    }
    Ok((fields, files))
}

/// Reads a JSON body with a clear error for malformed or mistyped input.
pub(super) fn json<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> crate::error::Result<T> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(AppError::UnsupportedMedia(format!("expected application/json, got \"{ct}\"")));
    }
    if body.len() > 1024 * 1024 {
        return Err(AppError::TooLarge);
    }
    serde_json::from_slice(body).map_err(|e| AppError::BadRequest(detail!("detail.request.invalid_json_body", e = e)))
}

/// A text body (a CSV, a TOML or XML document) as UTF-8.
pub(crate) fn utf8_body(body: &[u8]) -> crate::error::Result<&str> {
    std::str::from_utf8(body).map_err(|_| AppError::BadRequest(detail!("detail.request.body_not_utf8")))
}

pub fn form_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub use crate::clock::{fmt_date, fmt_time};

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../static/app.js"),
    )
}

async fn health(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state.db.ping().await?;
    Ok("ok")
}

async fn not_found(ctx: Ctx) -> Response {
    if ctx.info.path.starts_with("/api/") {
        AppError::NotFound.into_response()
    } else {
        PageError { err: AppError::NotFound, lang: ctx.info.lang }.into_response()
    }
}

/// The addresses 電子決裁 and マイ避難 had before each capability got one name: mails already
/// sent (plan links, unsubscribe links) and bookmarks keep working, sent on with a 308 that
/// keeps the method and the query.
const RENAMED: [(&str, &str); 4] = [
    ("/hinan", "/evacuation"),
    ("/staff/hinan", "/staff/evacuation"),
    ("/staff/kessai", "/staff/approval"),
    ("/api/v1/kessai", "/api/v1/approval"),
];

fn renamed() -> Router<AppState> {
    RENAMED.iter().fold(Router::new(), |r, &(old, new)| {
        let moved = move |uri: axum::http::Uri| async move {
            let rest = uri.path().strip_prefix(old).unwrap_or("");
            let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            Redirect::permanent(&format!("{new}{rest}{query}"))
        };
        r.route(old, axum::routing::any(moved)).route(&format!("{old}/{{*rest}}"), axum::routing::any(moved))
    })
}

pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    // The demo's conveniences exist only where the operator turned them on.
    if state.cfg.demo_mailbox {
        app = app.route("/demo/mailbox", get(applications::mailbox));
    }
    if state.cfg.payment_sandbox {
        app = app.merge(payments::sandbox_routes());
    }
    app.merge(accounts::routes())
        .merge(applications::routes())
        .merge(admin::routes())
        .merge(evacuation::routes())
        .merge(iot::routes())
        .merge(approval::routes())
        .merge(documents::routes())
        .merge(payments::routes())
        .nest(
            "/api/v1",
            accounts::api_routes()
                .merge(applications::api_routes())
                .merge(admin::api_routes())
                .merge(evacuation::api_routes())
                .merge(iot::api_routes())
                .merge(approval::api_routes())
                .merge(documents::api_routes())
                .merge(payments::api_routes())
                .merge(audit::api_routes()),
        )
        .merge(renamed())
        .route("/api/openapi.json", get(openapi::serve))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/healthz", get(health))
        .fallback(not_found)
        // Body limits are the gate's, per route and caller (extractors add none of their own).
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), gate::gate))
        .layer(middleware::from_fn_with_state(state.clone(), prepare))
        .with_state(state)
}
