//! The pages: handlers that check the session and the CSRF token, call
//! the model's [`ModelOps`], and write HTML.

use std::collections::HashMap;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, NestedPath, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Utc};
use orm_core::prelude::*;
use orm_core::query::DeletePreview;
use orm_core::relation::RelationKind;
use orm_core::types::SqlType;
use orm_core::{FieldMeta, Value};

use crate::auth::{self, Session, CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE};
use crate::fields::{self, display_text, form_text, label, KeyChoices};
use crate::html::{url, Layout, E};
use crate::models::{AdminLogEntry, AdminUser};
use crate::ops::{ModelOps, Row, Saved};
use crate::perms::Action;
use crate::Slugs;

/// The admin's state, shared by every request.
pub(crate) struct Site {
    pub(crate) models: Vec<Arc<dyn ModelOps>>,
    pub(crate) slugs: Slugs,
    pub(crate) db: Option<Db>,
    pub(crate) site: String,
    pub(crate) secure: bool,
    pub(crate) session_age: Duration,
    pub(crate) limiter: auth::RateLimiter,
}

type Shared = State<Arc<Site>>;
type Page = Result<Response, Response>;

/// The policy sent with every response, followed by
/// `; report-uri <mount>/csp-report` (violations are logged).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Security headers on every response, and the admin's database around
/// every handler.
pub(crate) async fn around(State(site): Shared, request: Request, next: Next) -> Response {
    let policy = format!(
        "{CSP}; report-uri {}/csp-report",
        base_of(request.extensions())
    );
    let mut response = match &site.db {
        Some(db) => orm_core::scope(db, next.run(request)).await,
        None => next.run(request).await,
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static(CSP)),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, private"),
        );
    }
    response
}

/// A message shown whole (errors quote user input: cut it).
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Where the admin is mounted (`/admin`), from axum's nesting.
fn base_of(headers_ext: &axum::http::Extensions) -> String {
    headers_ext
        .get::<NestedPath>()
        .map(|p| p.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// What a handler needs of the request besides its body.
pub(crate) struct Req {
    base: String,
    headers: HeaderMap,
    path: String,
    ip: Option<IpAddr>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Req {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Req {
            base: base_of(&parts.extensions),
            headers: parts.headers.clone(),
            path: {
                let uri = parts
                    .extensions
                    .get::<axum::extract::OriginalUri>()
                    .map_or(&parts.uri, |o| &o.0);
                uri.path_and_query()
                    .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned())
            },
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        })
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// A page with only a heading and a message.
fn plain(site: &Site, req: &Req, status: StatusCode, title: &str, message: &str) -> Response {
    let layout = Layout {
        base: &req.base,
        site: &site.site,
        title,
        ..Default::default()
    };
    html(
        status,
        layout.render(&format!(
            "<h1>{}</h1><p class=\"errornote\">{}</p>",
            E(title),
            E(message)
        )),
    )
}

/// An error of the ORM as a page: a bad query string is a 400 naming each
/// parameter; a missing row a 404; anything else a 500 (logged).
fn failure(site: &Site, req: &Req, err: Error) -> Response {
    match err {
        Error::InvalidFilters(e) => {
            let mut body = String::from(
                "<h1>Bad request</h1><p class=\"errornote\">These parameters cannot be used:</p><ul class=\"errorlist\">",
            );
            for (param, message) in &e.errors {
                let _ = write!(
                    body,
                    "<li><code>{}</code>: {}</li>",
                    E(&shorten(param)),
                    E(&shorten(message))
                );
            }
            body.push_str("</ul><p><a href=\"?\">Clear all filters</a></p>");
            let layout = Layout {
                base: &req.base,
                site: &site.site,
                title: "Bad request",
                ..Default::default()
            };
            html(StatusCode::BAD_REQUEST, layout.render(&body))
        }
        // The admin's page numbers are read leniently: an invalid page is
        // a `cursor=` that is not one the list gave (tampered, or of
        // another ordering).
        Error::InvalidPage(_) => plain(
            site,
            req,
            StatusCode::BAD_REQUEST,
            "Bad request",
            &format!(
                "The parameter cursor cannot be used: {}",
                shorten(&err.to_string())
            ),
        ),
        Error::InvalidLookup(_) | Error::InvalidValue(_) | Error::InvalidQuery(_) => plain(
            site,
            req,
            StatusCode::BAD_REQUEST,
            "Bad request",
            &shorten(&err.to_string()),
        ),
        Error::DoesNotExist { .. } => not_found_page(site, req),
        Error::PoolTimeout(_) => plain(
            site,
            req,
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "The database is busy; try again.",
        ),
        other => {
            tracing::error!(error = %other, "admin request failed");
            plain(
                site,
                req,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Server error",
                "Something went wrong; it has been logged.",
            )
        }
    }
}

fn not_found_page(site: &Site, req: &Req) -> Response {
    plain(
        site,
        req,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page.",
    )
}

/// Unknown paths.
pub(crate) async fn not_found(State(site): Shared, req: Req) -> Response {
    not_found_page(&site, &req)
}

/// The stylesheet.
pub(crate) async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::html::CSS,
    )
        .into_response()
}

/// The script.
pub(crate) async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::html::JS,
    )
        .into_response()
}

/// The icon.
pub(crate) async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        crate::html::FAVICON,
    )
        .into_response()
}

/// `POST /csp-report`: a browser's report of a Content-Security-Policy
/// violation, logged as a warning (no session needed: the browser sends
/// it on its own). A page of the admin never causes one; a report means
/// an injected script or style, or a bug.
pub(crate) async fn csp_report(body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    tracing::warn!(report = %text, "Content-Security-Policy violation");
    StatusCode::NO_CONTENT
}

/// The logged-in staff user's session: else a redirect to the login page
/// (no session) or a 403 (not active staff).
async fn staff(site: &Site, req: &Req) -> Result<Session, Response> {
    let session = auth::session(&req.headers)
        .await
        .map_err(|e| failure(site, req, e))?;
    match session {
        None => Err(redirect(&format!(
            "{}/login?next={}",
            req.base,
            url(&req.path)
        ))),
        Some(s) if s.user.is_active && s.user.is_staff => Ok(s),
        Some(_) => Err(plain(
            site,
            req,
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Your account may not use the administration site.",
        )),
    }
}

/// A 403 unless the session's user may do `action` to the model.
fn allowed(
    site: &Site,
    req: &Req,
    session: &Session,
    ops: &dyn ModelOps,
    action: Action,
) -> Result<(), Response> {
    if session.perms.can(ops.meta().name, action) {
        return Ok(());
    }
    Err(plain(
        site,
        req,
        StatusCode::FORBIDDEN,
        "Forbidden",
        &format!(
            "You do not have permission to {} {}.",
            action.as_str(),
            plural(ops.meta().name).to_lowercase()
        ),
    ))
}

/// Every name and value of a form, in order (a multi-select sends a
/// name once per chosen option).
fn pairs_of(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The form's fields, decoded; the last value of a name wins.
fn form(body: &Bytes) -> HashMap<String, String> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn csrf_failure(site: &Site, req: &Req) -> Response {
    plain(
        site,
        req,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "CSRF verification failed. Request aborted.",
    )
}

/// Checks the form's CSRF token against the session's.
fn check_csrf(
    site: &Site,
    req: &Req,
    session: &Session,
    form: &HashMap<String, String>,
) -> Result<(), Response> {
    match form.get(CSRF_FIELD) {
        Some(token) if auth::constant_time_eq(token, &session.csrf) => Ok(()),
        _ => Err(csrf_failure(site, req)),
    }
}

fn layout<'a>(site: &'a Site, req: &'a Req, session: &'a Session, title: &'a str) -> Layout<'a> {
    Layout {
        base: &req.base,
        site: &site.site,
        title,
        user: Some((&session.user.username, &session.csrf)),
        ..Default::default()
    }
}

fn model<'s>(site: &'s Site, req: &Req, slug: &str) -> Result<&'s Arc<dyn ModelOps>, Response> {
    site.slugs
        .get(slug)
        .map(|&i| &site.models[i])
        .ok_or_else(|| not_found_page(site, req))
}

fn slug(ops: &dyn ModelOps) -> String {
    ops.meta().name.to_lowercase()
}

/// The registered admin of the model a foreign key `field` points to.
fn target<'s>(
    site: &'s Site,
    ops: &dyn ModelOps,
    field: &FieldMeta,
) -> Option<&'s Arc<dyn ModelOps>> {
    let rel = ops.meta().relation_of_field(field.position)?;
    if !matches!(rel.kind, RelationKind::ForeignKey | RelationKind::OneToOne) {
        return None;
    }
    let table = rel.target.meta().table;
    site.models.iter().find(|m| m.meta().table == table)
}

fn is_key(ops: &dyn ModelOps, field: &FieldMeta) -> bool {
    ops.meta().relation_of_field(field.position).is_some()
}

// ---------------------------------------------------------------- login

fn login_body(req: &Req, csrf: &str, next: &str, username: &str, error: Option<&str>) -> String {
    let mut body = String::from("<div class=\"login\"><h1>Log in</h1>");
    if let Some(error) = error {
        let _ = write!(
            body,
            "<p class=\"errornote\" role=\"alert\">{}</p>",
            E(error)
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{}/login\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label for=\"id_username\">Username</label>\
         <input type=\"text\" name=\"username\" id=\"id_username\" value=\"{}\" autocomplete=\"username\" autofocus required maxlength=\"150\">\
         <label for=\"id_password\">Password</label>\
         <input type=\"password\" name=\"password\" id=\"id_password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\" class=\"primary\">Log in</button></form></div>",
        E(&req.base),
        E(csrf),
        E(next),
        E(username)
    );
    body
}

/// The login form's token: the cookie's when it has one, else a new one.
fn login_token(req: &Req) -> Result<(String, bool), Error> {
    match auth::cookie(&req.headers, CSRF_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok((t.to_owned(), false))
        }
        _ => Ok((auth::random_hex(32)?, true)),
    }
}

/// Where to go after logging in: a path of this admin only (never
/// another site).
fn safe_next(base: &str, next: &str) -> String {
    let inside = (next == base || next.starts_with(&format!("{base}/")))
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.contains("://");
    if inside && !next.is_empty() {
        next.to_owned()
    } else if base.is_empty() {
        "/".to_owned()
    } else {
        base.to_owned()
    }
}

fn login_response(
    site: &Site,
    req: &Req,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let (token, new) = match login_token(req) {
        Ok(t) => t,
        Err(e) => return failure(site, req, e),
    };
    let layout = Layout {
        base: &req.base,
        site: &site.site,
        title: "Log in",
        ..Default::default()
    };
    let mut response = html(
        status,
        layout.render(&login_body(req, &token, next, username, error)),
    );
    if new {
        let cookie = auth::set_cookie(
            CSRF_COOKIE,
            &token,
            &cookie_path(req),
            31_449_600,
            site.secure,
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn cookie_path(req: &Req) -> String {
    if req.base.is_empty() {
        "/".to_owned()
    } else {
        req.base.clone()
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `GET /login`.
pub(crate) async fn login_page(
    State(site): Shared,
    req: Req,
    RawQuery(query): RawQuery,
) -> Response {
    let next = query_param(query.as_deref().unwrap_or(""), "next").unwrap_or_default();
    if let Ok(Some(s)) = auth::session(&req.headers).await {
        if s.user.is_active && s.user.is_staff {
            return redirect(&safe_next(&req.base, &next));
        }
    }
    login_response(&site, &req, StatusCode::OK, &next, "", None)
}

/// `POST /login`.
pub(crate) async fn login(State(site): Shared, req: Req, body: Bytes) -> Response {
    let form = form(&body);
    let cookie_token = auth::cookie(&req.headers, CSRF_COOKIE).unwrap_or("");
    match form.get(CSRF_FIELD) {
        Some(t) if !cookie_token.is_empty() && auth::constant_time_eq(t, cookie_token) => {}
        _ => return csrf_failure(&site, &req),
    }
    let username = form.get("username").map_or("", String::as_str);
    let password = form.get("password").map_or("", String::as_str);
    let next = form.get("next").map_or("", String::as_str);
    if !site.limiter.allowed(username, req.ip) {
        return login_response(
            &site,
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            username,
            Some("Too many failed login attempts. Try again later."),
        );
    }
    let user = match auth::authenticate(username, password).await {
        Ok(user) => user,
        Err(e) => return failure(&site, &req, e),
    };
    let Some(user) = user.filter(|u| u.is_active && u.is_staff) else {
        site.limiter.failed(username, req.ip);
        return login_response(
            &site,
            &req,
            StatusCode::OK,
            next,
            username,
            Some("Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive."),
        );
    };
    site.limiter.succeeded(username, req.ip);
    let token = match auth::open_session(&user, site.session_age).await {
        Ok(t) => t,
        Err(e) => return failure(&site, &req, e),
    };
    let mut response = redirect(&safe_next(&req.base, next));
    let cookie = auth::set_cookie(
        SESSION_COOKIE,
        &token,
        &cookie_path(&req),
        site.session_age.as_secs() as i64,
        site.secure,
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `POST /logout`.
pub(crate) async fn logout(State(site): Shared, req: Req, body: Bytes) -> Page {
    let session = staff(&site, &req).await?;
    check_csrf(&site, &req, &session, &form(&body))?;
    let id = session.id;
    crate::models::AdminSession::filter(q!(id = id))
        .delete()
        .await
        .map_err(|e| failure(&site, &req, e))?;
    let mut response = redirect(&format!("{}/login", req.base));
    let cookie = auth::set_cookie(SESSION_COOKIE, "", &cookie_path(&req), 0, site.secure);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

// ---------------------------------------------------------------- index

/// `GET /`: the registered models.
pub(crate) async fn index(State(site): Shared, req: Req) -> Page {
    let session = staff(&site, &req).await?;
    let mut body = String::from(
        "<h1>Site administration</h1><table class=\"models\"><thead><tr><th scope=\"col\">Model</th><th scope=\"col\"></th></tr></thead><tbody>",
    );
    let perms = &session.perms;
    for ops in site.models.iter().filter(|m| perms.any(m.meta().name)) {
        let s = slug(ops.as_ref());
        let name = ops.meta().name;
        let (b, s) = (E(&req.base), E(&s));
        let title = plural(name);
        let _ = write!(body, "<tr><th scope=\"row\">");
        if perms.can(name, Action::View) {
            let _ = write!(body, "<a href=\"{b}/{s}/\">{}</a>", E(&title));
        } else {
            let _ = write!(body, "{}", E(&title));
        }
        body.push_str("</th><td class=\"actions\">");
        if perms.can(name, Action::Add) {
            let _ = write!(body, "<a class=\"button\" href=\"{b}/{s}/add/\">Add</a> ");
        }
        if perms.can(name, Action::Change) {
            let _ = write!(body, "<a class=\"button\" href=\"{b}/{s}/\">Change</a>");
        } else if perms.can(name, Action::View) {
            let _ = write!(body, "<a class=\"button\" href=\"{b}/{s}/\">View</a>");
        }
        body.push_str("</td></tr>");
    }
    body.push_str("</tbody></table>");
    Ok(html(
        StatusCode::OK,
        layout(&site, &req, &session, "Site administration").render(&body),
    ))
}

pub(crate) fn plural(name: &str) -> String {
    if name.ends_with('s') {
        format!("{name}es")
    } else if let Some(stem) = name.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{name}s")
    }
}

// ---------------------------------------------------------------- change list

/// The decoded parameters of a query string, in order.
fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `?` + the parameters with `set` applied (`None` removes a name); the
/// page number and the cursor go unless set.
fn with_params(params: &[(String, String)], set: &[(&str, Option<&str>)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if k == "page" || k == "cursor" || set.iter().any(|(name, _)| name == k) {
            continue;
        }
        out.append_pair(k, v);
    }
    for (name, value) in set {
        if let Some(v) = value {
            out.append_pair(name, v);
        }
    }
    format!("?{}", out.finish())
}

/// The terms of `ordering=` (validated by the filter set before).
fn ordering_terms(params: &[(String, String)]) -> Vec<String> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == "ordering")
        .map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /<model>/`.
pub(crate) async fn change_list(
    State(site): Shared,
    req: Req,
    Path(slug_name): Path<String>,
    RawQuery(query): RawQuery,
) -> Page {
    let session = staff(&site, &req).await?;
    let ops = model(&site, &req, &slug_name)?.clone();
    allowed(&site, &req, &session, ops.as_ref(), Action::View)?;
    let query = query.unwrap_or_default();
    let params = pairs(&query);
    let page_param = params
        .iter()
        .rev()
        .find(|(k, _)| k == "page")
        .map(|(_, v)| v.clone());
    let cursor_param = params
        .iter()
        .rev()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.clone());
    let page = ops
        .list(&query, page_param.as_deref(), cursor_param.as_deref())
        .await
        .map_err(|e| failure(&site, &req, e))?;
    let meta = ops.meta();
    let opts = ops.opts();
    let columns: Vec<&FieldMeta> = opts
        .list_display
        .iter()
        .filter_map(|n| meta.field(n))
        .collect();
    // Labels of the related objects shown, one query per foreign key column.
    let mut key_labels: HashMap<usize, HashMap<String, String>> = HashMap::new();
    for f in columns.iter().filter(|f| is_key(ops.as_ref(), f)) {
        if let Some(target) = target(&site, ops.as_ref(), f) {
            let keys: Vec<Value> = page
                .rows
                .iter()
                .map(|r| r.values[f.position].clone())
                .filter(|v| !v.is_null())
                .collect();
            let found = target
                .labels(keys)
                .await
                .map_err(|e| failure(&site, &req, e))?;
            key_labels.insert(f.position, found.into_iter().collect());
        }
    }
    let s = slug(ops.as_ref());
    let list_url = format!("{}/{}/", req.base, url(&s));
    let mut body = String::new();
    let title = format!("Select {} to change", meta.name.to_lowercase());
    let _ = write!(body, "<div class=\"head\"><h1>{}</h1>", E(&title));
    if session.perms.can(meta.name, Action::Add) {
        let _ = write!(
            body,
            "<a class=\"button primary\" href=\"{}add/\">Add {}</a>",
            E(&list_url),
            E(&meta.name.to_lowercase())
        );
    }
    body.push_str("</div>");
    body.push_str("<div class=\"changelist\"><div class=\"results\">");
    if !opts.search_fields.is_empty() {
        let current = params
            .iter()
            .rev()
            .find(|(k, _)| k == "search")
            .map_or("", |(_, v)| v.as_str());
        let _ = write!(
            body,
            "<form class=\"search\" method=\"get\" action=\"{}\" role=\"search\">\
             <input type=\"search\" name=\"search\" value=\"{}\" aria-label=\"Search\" placeholder=\"Search {}\">",
            E(&list_url),
            E(current),
            E(&opts.search_fields.join(", "))
        );
        for (k, v) in &params {
            if k != "search" && k != "page" && k != "cursor" {
                let _ = write!(
                    body,
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    E(k),
                    E(v)
                );
            }
        }
        body.push_str("<button type=\"submit\">Search</button></form>");
    }
    let noun = if page.count == 1 {
        meta.name.to_lowercase()
    } else {
        plural(meta.name).to_lowercase()
    };
    let _ = write!(
        body,
        "<p class=\"count\">{}{} {}</p>",
        if page.estimated { "about " } else { "" },
        page.count,
        E(&noun)
    );
    // The table, sortable by each column.
    let order = ordering_terms(&params);
    let actions = actions_of(&session, ops.as_ref());
    if !actions.is_empty() {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"{}action/\" class=\"actions-form\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">\
             <div class=\"action-bar\"><label for=\"id_action\">Action</label>\
             <select name=\"action\" id=\"id_action\" required><option value=\"\">---------</option>",
            E(&list_url),
            E(&session.csrf)
        );
        for (name, text) in &actions {
            let _ = write!(body, "<option value=\"{}\">{}</option>", E(name), E(text));
        }
        body.push_str("</select><button type=\"submit\">Go</button></div>");
    }
    body.push_str("<div class=\"table-wrap\"><table class=\"list\"><thead><tr>");
    if !actions.is_empty() {
        body.push_str("<th scope=\"col\" class=\"select\"><input type=\"checkbox\" class=\"select-all\" aria-label=\"Select all\"></th>");
    }
    for f in &columns {
        let position = order
            .iter()
            .position(|t| t.strip_prefix('-').unwrap_or(t) == f.name);
        let descending = position.is_some_and(|i| order[i].starts_with('-'));
        // Clicked: this column first (flipped if it was first), the
        // others kept after it.
        let first = match position {
            Some(0) if !descending => format!("-{}", f.name),
            _ => f.name.to_owned(),
        };
        let mut terms = vec![first];
        terms.extend(
            order
                .iter()
                .filter(|t| t.strip_prefix('-').unwrap_or(t) != f.name)
                .cloned(),
        );
        let link = with_params(&params, &[("ordering", Some(&terms.join(",")))]);
        let (class, mark) = match position {
            Some(i) => (
                if descending {
                    "sorted desc"
                } else {
                    "sorted asc"
                },
                format!(
                    " <span class=\"sortmark\">{}{}</span>",
                    if descending { "▼" } else { "▲" },
                    if order.len() > 1 {
                        (i + 1).to_string()
                    } else {
                        String::new()
                    }
                ),
            ),
            None => ("", String::new()),
        };
        let _ = write!(
            body,
            "<th scope=\"col\" class=\"{class}\"><a href=\"{}\">{}</a>{mark}</th>",
            E(&link),
            E(&label(f.name))
        );
    }
    body.push_str("</tr></thead><tbody>");
    if page.rows.is_empty() {
        let _ = write!(
            body,
            "<tr><td colspan=\"{}\" class=\"empty\">Nothing here.</td></tr>",
            columns.len().max(1) + usize::from(!actions.is_empty())
        );
    }
    for row in &page.rows {
        body.push_str("<tr>");
        if !actions.is_empty() {
            let _ = write!(
                body,
                "<td class=\"select\"><input type=\"checkbox\" name=\"_selected_action\" value=\"{}\" aria-label=\"Select {}\"></td>",
                E(&row.pk),
                E(&row.label)
            );
        }
        for (n, f) in columns.iter().enumerate() {
            let value = &row.values[f.position];
            let text = match key_labels.get(&f.position) {
                Some(labels) if !value.is_null() => labels
                    .get(&form_text(value))
                    .cloned()
                    .unwrap_or_else(|| display_text(value)),
                _ => display_text(value),
            };
            if n == 0 {
                let _ = write!(
                    body,
                    "<th scope=\"row\"><a href=\"{}{}/change/\">{}</a></th>",
                    E(&list_url),
                    E(&url(&row.pk)),
                    E(&text)
                );
            } else {
                let class = match f.sql_type {
                    SqlType::SmallInt
                    | SqlType::Integer
                    | SqlType::BigInt
                    | SqlType::Real
                    | SqlType::Double
                        if !is_key(ops.as_ref(), f) =>
                    {
                        " class=\"num\""
                    }
                    _ => "",
                };
                let _ = write!(body, "<td{class}>{}</td>", E(&text));
            }
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    if !actions.is_empty() {
        body.push_str("</form>");
    }
    crate::paging::nav(&mut body, &page, &|set| with_params(&params, set));
    body.push_str("</div>");
    filters_sidebar(&mut body, &site, ops.as_ref(), &params)
        .await
        .map_err(|e| failure(&site, &req, e))?;
    body.push_str("</div>");
    let mut layout = layout(&site, &req, &session, &title);
    layout.crumbs = vec![(plural(meta.name), None)];
    Ok(html(StatusCode::OK, layout.render(&body)))
}

/// One filter's choices: (label, parameters it sets).
type Choice = (String, Vec<(String, Option<String>)>);

/// The sidebar: for each `list_filter` field, its choices as links.
async fn filters_sidebar(
    body: &mut String,
    site: &Site,
    ops: &dyn ModelOps,
    params: &[(String, String)],
) -> Result<()> {
    let meta = ops.meta();
    if ops.opts().list_filter.is_empty() {
        return Ok(());
    }
    body.push_str("<aside class=\"filters\"><h2>Filter</h2>");
    for name in &ops.opts().list_filter {
        let Some(f) = meta.field(name) else { continue };
        let n = f.name;
        let exact = n.to_owned();
        let isnull = format!("{n}__isnull");
        let (gte, lt) = (format!("{n}__gte"), format!("{n}__lt"));
        let set = |pairs: &[(&str, &str)]| -> Vec<(String, Option<String>)> {
            let mut out: Vec<(String, Option<String>)> = [&exact, &isnull, &gte, &lt]
                .iter()
                .map(|k| ((*k).clone(), None))
                .collect();
            for (k, v) in pairs {
                if let Some(slot) = out.iter_mut().find(|(name, _)| name == k) {
                    slot.1 = Some((*v).to_owned());
                }
            }
            out
        };
        let mut choices: Vec<Choice> = vec![("All".to_owned(), set(&[]))];
        if let Some(target) = target(site, ops, f) {
            match target.choices(ops.opts().fk_select_limit.min(50)).await? {
                Some(list) => {
                    for (key, label) in list {
                        choices.push((label, set(&[(&exact, &key)])));
                    }
                }
                None => {
                    let current = params.iter().find(|(k, _)| *k == exact);
                    if let Some((_, key)) = current {
                        choices.push((format!("Key {}", shorten(key)), set(&[(&exact, key)])));
                    }
                }
            }
        } else {
            match f.sql_type {
                SqlType::Bool => {
                    choices.push(("Yes".to_owned(), set(&[(&exact, "true")])));
                    choices.push(("No".to_owned(), set(&[(&exact, "false")])));
                }
                SqlType::Enum(names) => {
                    for choice in names {
                        choices.push((label(choice), set(&[(&exact, choice)])));
                    }
                }
                SqlType::Date | SqlType::Timestamp | SqlType::TimestampTz => {
                    let today = Utc::now().date_naive();
                    let fmt = |d: chrono::NaiveDate| match f.sql_type {
                        SqlType::Date => d.format("%Y-%m-%d").to_string(),
                        SqlType::Timestamp => d.format("%Y-%m-%dT00:00:00").to_string(),
                        _ => d.format("%Y-%m-%dT00:00:00Z").to_string(),
                    };
                    let tomorrow = today.succ_opt().unwrap_or(today);
                    let week = today - chrono::Duration::days(7);
                    let month = today.with_day(1).unwrap_or(today);
                    let year = chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
                    for (text, from) in [
                        ("Today", today),
                        ("Past 7 days", week),
                        ("This month", month),
                        ("This year", year),
                    ] {
                        choices.push((
                            text.to_owned(),
                            set(&[(&gte, &fmt(from)), (&lt, &fmt(tomorrow))]),
                        ));
                    }
                }
                _ => {}
            }
        }
        if f.nullable {
            choices.push(("Empty".to_owned(), set(&[(&isnull, "true")])));
            choices.push(("Not empty".to_owned(), set(&[(&isnull, "false")])));
        }
        let _ = write!(body, "<h3>By {}</h3><ul>", E(&label(n).to_lowercase()));
        for (text, changes) in &choices {
            let selected = changes.iter().all(|(k, v)| {
                let current = params
                    .iter()
                    .rev()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v);
                current == v.as_ref()
            });
            let set: Vec<(&str, Option<&str>)> = changes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            let link = with_params(params, &set);
            let _ = write!(
                body,
                "<li{}><a href=\"{}\">{}</a></li>",
                if selected { " class=\"selected\"" } else { "" },
                E(&link),
                E(text)
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("</aside>");
    Ok(())
}

// ---------------------------------------------------------------- autocomplete

/// `GET /<model>/autocomplete?term=`: up to 20 objects whose search
/// fields contain each word of `term`, as JSON in Django's (select2's)
/// shape: `{"results": [{"id": "3", "text": "Ada"}], "pagination":
/// {"more": false}}`. Needs the model's `View` permission and
/// `search_fields` (as Django's `autocomplete_fields`); never reads more
/// than 21 rows.
pub(crate) async fn autocomplete(
    State(site): Shared,
    req: Req,
    Path(slug_name): Path<String>,
    RawQuery(query): RawQuery,
) -> Page {
    let (site, req) = (&*site, &req);
    let session = staff(site, req).await?;
    let ops = model(site, req, &slug_name)?.clone();
    allowed(site, req, &session, ops.as_ref(), Action::View)?;
    if ops.opts().search_fields.is_empty() {
        return Err(plain(
            site,
            req,
            StatusCode::NOT_FOUND,
            "Not found",
            &format!(
                "{} has no search_fields: it cannot be searched.",
                ops.meta().name
            ),
        ));
    }
    let term = query_param(query.as_deref().unwrap_or(""), "term").unwrap_or_default();
    let term: String = term.chars().take(200).collect();
    let (found, more) = ops
        .autocomplete(&term)
        .await
        .map_err(|e| failure(site, req, e))?;
    let results: Vec<serde_json::Value> = found
        .into_iter()
        .map(|(id, text)| serde_json::json!({"id": id, "text": text}))
        .collect();
    let body = serde_json::json!({"results": results, "pagination": {"more": more}});
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

// ---------------------------------------------------------------- actions

/// The bulk actions the session's user may run on the model: (value,
/// menu text). Deleting needs `Delete`, exporting `View`, the model's own
/// actions `Change`.
fn actions_of(session: &Session, ops: &dyn ModelOps) -> Vec<(String, String)> {
    let name = ops.meta().name;
    let perms = &session.perms;
    let mut out = Vec::new();
    if perms.can(name, Action::Delete) {
        out.push((
            "delete_selected".to_owned(),
            format!("Delete selected {}", plural(name).to_lowercase()),
        ));
    }
    if perms.can(name, Action::View) {
        out.push(("export_csv".to_owned(), "Export selected as CSV".to_owned()));
    }
    if perms.can(name, Action::Change) {
        out.extend(ops.opts().actions.iter().cloned());
    }
    out
}

/// One CSV cell: quoted when it holds a separator, quote or line break
/// (RFC 4180), and a leading `=`, `+`, `-`, `@`, tab or carriage return
/// escaped with `'` so that a spreadsheet does not run it as a formula
/// (OWASP's CSV injection advice).
pub(crate) fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The objects as CSV: a header of field names, a line per object.
fn csv(ops: &dyn ModelOps, rows: &[Row]) -> String {
    let fields = ops.meta().fields;
    let mut out = String::new();
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    out.push_str(&line(fields.iter().map(|f| csv_cell(f.name)).collect()));
    for row in rows {
        out.push_str(&line(
            fields
                .iter()
                .map(|f| csv_cell(&form_text(&row.values[f.position])))
                .collect(),
        ));
    }
    out
}

/// `POST /<model>/action/`: a bulk action on the selected objects
/// (`_selected_action`); "delete selected" first shows the confirmation
/// with what else goes, then deletes when posted again with `post=yes`.
pub(crate) async fn action(
    State(site): Shared,
    req: Req,
    Path(slug_name): Path<String>,
    body: Bytes,
) -> Page {
    let (site, req) = (&*site, &req);
    let session = staff(site, req).await?;
    let ops = model(site, req, &slug_name)?.clone();
    let fields = form(&body);
    check_csrf(site, req, &session, &fields)?;
    let keys: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "_selected_action")
        .map(|(_, v)| v.into_owned())
        .take(10_000)
        .collect();
    let name = fields.get("action").map_or("", String::as_str);
    let list = format!("{}/{}/", req.base, slug(ops.as_ref()));
    let Some((_, text)) = actions_of(&session, ops.as_ref())
        .into_iter()
        .find(|(n, _)| n == name)
    else {
        // Unknown, or not allowed to this user.
        let known = ops.opts().actions.iter().any(|(n, _)| n == name)
            || ["delete_selected", "export_csv"].contains(&name);
        return Err(if known {
            plain(
                site,
                req,
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You do not have permission to run this action.",
            )
        } else {
            plain(
                site,
                req,
                StatusCode::BAD_REQUEST,
                "Bad request",
                "No action selected.",
            )
        });
    };
    if keys.is_empty() {
        return Err(plain(
            site,
            req,
            StatusCode::BAD_REQUEST,
            "No items selected",
            "Items must be selected in order to perform actions on them. No items have been changed.",
        ));
    }
    let fail = |e| failure(site, req, e);
    match name {
        "export_csv" => {
            let rows = ops.many(&keys).await.map_err(fail)?;
            let file = format!("{}.csv", plural(ops.meta().name).to_lowercase());
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file}\""),
                    ),
                ],
                csv(ops.as_ref(), &rows),
            )
                .into_response())
        }
        "delete_selected" if fields.get("post").map(String::as_str) == Some("yes") => {
            match ops
                .delete_many(&keys, session.user.id)
                .await
                .map_err(fail)?
            {
                Ok(_) => Ok(redirect(&list)),
                Err(message) => Err(plain(
                    site,
                    req,
                    StatusCode::CONFLICT,
                    "Cannot delete",
                    &message,
                )),
            }
        }
        "delete_selected" => {
            let rows = ops.many(&keys).await.map_err(fail)?;
            let preview = ops.preview_many(&keys).await.map_err(fail)?;
            let meta = ops.meta();
            let mut body = String::from("<h1>Are you sure?</h1>");
            let what = plural(meta.name).to_lowercase();
            if preview.protected.is_empty() {
                let _ = write!(
                    body,
                    "<p>Are you sure you want to delete the selected {}? All of the following objects and their related items will be deleted:</p><ul class=\"objects\">",
                    E(&what)
                );
            } else {
                let _ = write!(
                    body,
                    "<p class=\"errornote\">Deleting the selected {} would require deleting protected related objects:</p>",
                    E(&what)
                );
                preview_list(&mut body, "Protected", &preview.protected);
                body.push_str("<ul class=\"objects\">");
            }
            for row in rows.iter().take(100) {
                let _ = write!(body, "<li>{}</li>", E(&row.label));
            }
            if rows.len() > 100 {
                let _ = write!(body, "<li>… and {} more</li>", rows.len() - 100);
            }
            body.push_str("</ul>");
            if preview.protected.is_empty() {
                preview_list(&mut body, "Summary", &preview.deleted.per_model);
                preview_list(&mut body, "Set to empty", &preview.set_null);
                let _ = write!(
                    body,
                    "<form method=\"post\" action=\"{}action/\" class=\"confirm\">\
                     <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">\
                     <input type=\"hidden\" name=\"action\" value=\"delete_selected\">\
                     <input type=\"hidden\" name=\"post\" value=\"yes\">",
                    E(&list),
                    E(&session.csrf)
                );
                for row in &rows {
                    let _ = write!(
                        body,
                        "<input type=\"hidden\" name=\"_selected_action\" value=\"{}\">",
                        E(&row.pk)
                    );
                }
                let _ = write!(
                    body,
                    "<button type=\"submit\" class=\"danger\">Yes, I’m sure</button> \
                     <a class=\"button\" href=\"{}\">No, take me back</a></form>",
                    E(&list)
                );
            }
            let mut layout = layout(site, req, &session, "Are you sure?");
            layout.crumbs = vec![
                (plural(meta.name), Some(list.clone())),
                ("Delete multiple objects".to_owned(), None),
            ];
            Ok(html(StatusCode::OK, layout.render(&body)))
        }
        _ => {
            tracing::debug!(action = %text, "admin action");
            ops.run_action(name, &keys, session.user.id)
                .await
                .map_err(fail)?;
            Ok(redirect(&list))
        }
    }
}

// ---------------------------------------------------------------- forms

/// How a field appears on the form.
enum Mode {
    Hidden,
    ReadOnly,
    Edit,
}

fn mode(ops: &dyn ModelOps, f: &FieldMeta, adding: bool) -> Mode {
    let opts = ops.opts();
    if opts.exclude.iter().any(|n| n == f.name) {
        return Mode::Hidden;
    }
    if f.primary_key && (f.auto || !adding) {
        return if adding { Mode::Hidden } else { Mode::ReadOnly };
    }
    if f.auto_now || f.auto_now_add {
        return if adding { Mode::Hidden } else { Mode::ReadOnly };
    }
    if opts.readonly_fields.iter().any(|n| n == f.name) || !fields::editable_type(&f.sql_type) {
        return Mode::ReadOnly;
    }
    Mode::Edit
}

/// What the form shows: the raw text of each field (from the object or
/// from the submitted form) and the errors.
struct FormState {
    texts: HashMap<&'static str, String>,
    errors: Vec<(String, String)>,
    /// False for a user who may only view: every field read-only, no
    /// save button.
    editable: bool,
    /// The many-to-many fields and the inlines.
    related: crate::related::Related,
    /// The row's token as the form was opened (a change form).
    token: Option<String>,
    /// The row changed since: the warning is shown.
    stale: bool,
}

/// The hidden input holding the row's token (the "changed since opened"
/// check).
const TOKEN_FIELD: &str = "_row_token";

async fn render_form(
    site: &Site,
    req: &Req,
    session: &Session,
    ops: &dyn ModelOps,
    row: Option<&Row>,
    state: &FormState,
) -> Result<String> {
    let meta = ops.meta();
    let s = slug(ops);
    let adding = row.is_none();
    let title = match row {
        None => format!("Add {}", meta.name.to_lowercase()),
        Some(_) if !state.editable => format!("View {}", meta.name.to_lowercase()),
        Some(_) => format!("Change {}", meta.name.to_lowercase()),
    };
    let mut body = String::new();
    let heading = match row {
        None => title.clone(),
        Some(r) => r.label.clone(),
    };
    let _ = write!(body, "<div class=\"head\"><h1>{}</h1>", E(&heading));
    if let Some(r) = row {
        let _ = write!(
            body,
            "<a class=\"button\" href=\"{}/{}/{}/history/\">History</a>",
            E(&req.base),
            E(&s),
            E(&url(&r.pk))
        );
    }
    body.push_str("</div>");
    if state.stale {
        let _ = write!(
            body,
            "<p class=\"errornote stale\" role=\"alert\">This {} was changed by someone else after you \
             opened this form. Nothing was saved. Your input is kept below: check it against the \
             current values (reload the page to see them), then save again to overwrite them.</p>",
            E(&meta.name.to_lowercase())
        );
    }
    if !state.errors.is_empty() {
        body.push_str("<p class=\"errornote\" role=\"alert\">Please correct the errors below.</p>");
        let all: Vec<&String> = state
            .errors
            .iter()
            .filter(|(f, _)| f == orm_core::ValidationError::NON_FIELD_ERRORS)
            .map(|(_, m)| m)
            .collect();
        if !all.is_empty() {
            body.push_str("<ul class=\"errorlist nonfield\">");
            for m in all {
                let _ = write!(body, "<li>{}</li>", E(m));
            }
            body.push_str("</ul>");
        }
    }
    let action = match row {
        None => format!("{}/{}/add/", req.base, s),
        Some(r) => format!("{}/{}/{}/change/", req.base, s, url(&r.pk)),
    };
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{}\" class=\"change\" novalidate>\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\"><fieldset>",
        E(&action),
        E(&session.csrf)
    );
    if let Some(token) = &state.token {
        let _ = write!(
            body,
            "<input type=\"hidden\" name=\"{TOKEN_FIELD}\" value=\"{}\">",
            E(token)
        );
    }
    for f in meta.fields {
        let m = match mode(ops, f, adding) {
            Mode::Edit if !state.editable => Mode::ReadOnly,
            m => m,
        };
        if matches!(m, Mode::Hidden) {
            continue;
        }
        let errors: Vec<&String> = state
            .errors
            .iter()
            .filter(|(n, _)| n == f.name)
            .map(|(_, m)| m)
            .collect();
        let _ = write!(
            body,
            "<div class=\"row{}\"><label for=\"id_{}\"{}>{}</label><div class=\"field\">",
            if errors.is_empty() { "" } else { " has-error" },
            E(f.name),
            if f.nullable
                || f.sql_type == SqlType::Bool
                || matches!(m, Mode::ReadOnly)
                || ops.opts().blank_fields.iter().any(|n| n == f.name)
            {
                ""
            } else {
                " class=\"required\""
            },
            E(&label(f.name))
        );
        let text = state.texts.get(f.name).cloned().unwrap_or_default();
        match m {
            Mode::ReadOnly => {
                let shown = row.map_or_else(String::new, |r| display_text(&r.values[f.position]));
                let _ = write!(body, "<div class=\"readonly\">{}</div>", E(&shown));
            }
            _ => {
                let choices = match target(site, ops, f) {
                    Some(target) => {
                        Some(match target.choices(target.opts().fk_select_limit).await? {
                            Some(list) => KeyChoices::Select(list),
                            None => {
                                let current = match f.sql_type.parse(&text) {
                                    Ok(v) if !text.is_empty() => target
                                        .labels(vec![v])
                                        .await?
                                        .into_iter()
                                        .next()
                                        .map(|(_, l)| l),
                                    _ => None,
                                };
                                KeyChoices::Input(
                                    current,
                                    crate::related::autocomplete_url(
                                        &req.base,
                                        session,
                                        target.as_ref(),
                                    ),
                                )
                            }
                        })
                    }
                    None if is_key(ops, f) => Some(KeyChoices::Input(None, None)),
                    None => None,
                };
                fields::widget(&mut body, f, &text, choices.as_ref());
            }
        }
        if !errors.is_empty() {
            body.push_str("<ul class=\"errorlist\">");
            for m in errors {
                let _ = write!(body, "<li>{}</li>", E(m));
            }
            body.push_str("</ul>");
        }
        body.push_str("</div></div>");
    }
    crate::related::render_many(
        &mut body,
        site,
        &req.base,
        session,
        ops,
        &state.related,
        &state.errors,
        state.editable,
    )
    .await?;
    body.push_str("</fieldset>");
    crate::related::render_inlines(
        &mut body,
        site,
        &req.base,
        session,
        ops,
        &state.related,
        &state.errors,
        state.editable,
    )
    .await?;
    body.push_str("<div class=\"submit-row\">");
    if state.editable {
        body.push_str(
            "<button type=\"submit\" name=\"_save\" value=\"1\" class=\"primary\">Save</button>",
        );
        if session.perms.can(meta.name, Action::Add) {
            body.push_str("<button type=\"submit\" name=\"_addanother\" value=\"1\">Save and add another</button>");
        }
        body.push_str("<button type=\"submit\" name=\"_continue\" value=\"1\">Save and continue editing</button>");
    }
    if let Some(r) = row.filter(|_| session.perms.can(meta.name, Action::Delete)) {
        let _ = write!(
            body,
            "<a class=\"button danger\" href=\"{}/{}/{}/delete/\">Delete</a>",
            E(&req.base),
            E(&s),
            E(&url(&r.pk))
        );
    }
    body.push_str("</div></form>");
    let mut layout = layout(site, req, session, &title);
    layout.crumbs = vec![
        (plural(meta.name), Some(format!("{}/{}/", req.base, s))),
        (row.map_or_else(|| title.clone(), |r| r.label.clone()), None),
    ];
    Ok(layout.render(&body))
}

fn texts_of(ops: &dyn ModelOps, row: Option<&Row>) -> HashMap<&'static str, String> {
    ops.meta()
        .fields
        .iter()
        .map(|f| {
            let text = match row {
                Some(r) => form_text(&r.values[f.position]),
                // A new object's defaults: a checked box for a `true` default.
                None => match f.default {
                    Some("true") => "true".to_owned(),
                    _ => String::new(),
                },
            };
            (f.name, text)
        })
        .collect()
}

async fn form_page(site: &Site, req: &Req, slug_name: &str, pk: Option<&str>) -> Page {
    let session = staff(site, req).await?;
    let ops = model(site, req, slug_name)?.clone();
    let needed = if pk.is_none() {
        Action::Add
    } else {
        Action::View
    };
    allowed(site, req, &session, ops.as_ref(), needed)?;
    let row = match pk {
        None => None,
        Some(pk) => Some(
            ops.get(pk)
                .await
                .map_err(|e| failure(site, req, e))?
                .ok_or_else(|| not_found_page(site, req))?,
        ),
    };
    let editable = pk.is_none() || session.perms.can(ops.meta().name, Action::Change);
    let related = crate::related::initial(site, &session, ops.as_ref(), row.as_ref(), editable)
        .await
        .map_err(|e| failure(site, req, e))?;
    let state = FormState {
        texts: texts_of(ops.as_ref(), row.as_ref()),
        errors: Vec::new(),
        editable,
        related,
        token: row.as_ref().map(|r| r.token.clone()),
        stale: false,
    };
    let page = render_form(site, req, &session, ops.as_ref(), row.as_ref(), &state)
        .await
        .map_err(|e| failure(site, req, e))?;
    Ok(html(StatusCode::OK, page))
}

/// `GET /<model>/add/`.
pub(crate) async fn add_page(State(site): Shared, req: Req, Path(slug_name): Path<String>) -> Page {
    form_page(&site, &req, &slug_name, None).await
}

/// `GET /<model>/<pk>/change/`.
pub(crate) async fn change_page(
    State(site): Shared,
    req: Req,
    Path((slug_name, pk)): Path<(String, String)>,
) -> Page {
    form_page(&site, &req, &slug_name, Some(&pk)).await
}

async fn submit(site: &Site, req: &Req, slug_name: &str, pk: Option<&str>, body: &Bytes) -> Page {
    let session = staff(site, req).await?;
    let ops = model(site, req, slug_name)?.clone();
    let pairs = pairs_of(body);
    let form = form(body);
    check_csrf(site, req, &session, &form)?;
    let needed = if pk.is_none() {
        Action::Add
    } else {
        Action::Change
    };
    allowed(site, req, &session, ops.as_ref(), needed)?;
    let row = match pk {
        None => None,
        Some(pk) => Some(
            ops.get(pk)
                .await
                .map_err(|e| failure(site, req, e))?
                .ok_or_else(|| not_found_page(site, req))?,
        ),
    };
    let meta = ops.meta();
    let opts = ops.opts();
    let mut texts = texts_of(ops.as_ref(), row.as_ref());
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for f in meta.fields {
        if !matches!(mode(ops.as_ref(), f, row.is_none()), Mode::Edit) {
            continue;
        }
        let raw = form.get(f.name).map(String::as_str);
        texts.insert(f.name, raw.unwrap_or("").to_owned());
        let blank = opts.blank_fields.iter().any(|n| n == f.name);
        match fields::parse(f, raw, blank) {
            Ok(v) => values.push((f.position, v)),
            Err(message) => errors.push((f.name.to_owned(), message)),
        }
    }
    let (related, mut extra, found) =
        crate::related::parse(site, &session, ops.as_ref(), row.as_ref(), &pairs, &form)
            .await
            .map_err(|e| failure(site, req, e))?;
    errors.extend(found);
    let mut token = match row {
        Some(_) => form.get(TOKEN_FIELD).cloned(),
        None => None,
    };
    extra.token.clone_from(&token);
    let mut stale = false;
    if errors.is_empty() {
        match ops.save(pk, values, session.user.id, extra).await {
            Ok(Saved::Done { pk }) => {
                let s = slug(ops.as_ref());
                let to = if form.contains_key("_continue") {
                    format!("{}/{}/{}/change/", req.base, s, url(&pk))
                } else if form.contains_key("_addanother") {
                    format!("{}/{}/add/", req.base, s)
                } else {
                    format!("{}/{}/", req.base, s)
                };
                return Ok(redirect(&to));
            }
            Ok(Saved::Invalid(found)) => errors = found,
            Ok(Saved::Stale { token: now }) => {
                // Sent again with the new token, the form saves.
                token = Some(now);
                stale = true;
            }
            Err(e) => return Err(failure(site, req, e)),
        }
    }
    let state = FormState {
        texts,
        errors,
        editable: true,
        related,
        token,
        stale,
    };
    let page = render_form(site, req, &session, ops.as_ref(), row.as_ref(), &state)
        .await
        .map_err(|e| failure(site, req, e))?;
    Ok(html(StatusCode::OK, page))
}

/// `POST /<model>/add/`.
pub(crate) async fn add(
    State(site): Shared,
    req: Req,
    Path(slug_name): Path<String>,
    body: Bytes,
) -> Page {
    submit(&site, &req, &slug_name, None, &body).await
}

/// `POST /<model>/<pk>/change/`.
pub(crate) async fn change(
    State(site): Shared,
    req: Req,
    Path((slug_name, pk)): Path<(String, String)>,
    body: Bytes,
) -> Page {
    submit(&site, &req, &slug_name, Some(&pk), &body).await
}

// ---------------------------------------------------------------- delete

fn preview_list(body: &mut String, title: &str, counts: &std::collections::BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    let _ = write!(body, "<h2>{}</h2><ul class=\"summary\">", E(title));
    for (model, n) in counts {
        let _ = write!(body, "<li>{}: {n}</li>", E(&label(model)));
    }
    body.push_str("</ul>");
}

/// `GET /<model>/<pk>/delete/`: the confirmation, with what else goes.
pub(crate) async fn delete_page(
    State(site): Shared,
    req: Req,
    Path((slug_name, pk)): Path<(String, String)>,
) -> Page {
    let session = staff(&site, &req).await?;
    let ops = model(&site, &req, &slug_name)?.clone();
    allowed(&site, &req, &session, ops.as_ref(), Action::Delete)?;
    let row = ops
        .get(&pk)
        .await
        .map_err(|e| failure(&site, &req, e))?
        .ok_or_else(|| not_found_page(&site, &req))?;
    let preview: DeletePreview = ops
        .preview(&pk)
        .await
        .map_err(|e| failure(&site, &req, e))?;
    let meta = ops.meta();
    let s = slug(ops.as_ref());
    let mut body = String::from("<h1>Are you sure?</h1>");
    if !preview.protected.is_empty() {
        let _ = write!(
            body,
            "<p class=\"errornote\">Deleting the {} “{}” would require deleting protected related objects:</p>",
            E(&meta.name.to_lowercase()),
            E(&row.label)
        );
        preview_list(&mut body, "Protected", &preview.protected);
    } else {
        let _ = write!(
            body,
            "<p>Are you sure you want to delete the {} “{}”? All of the following related items will be deleted:</p>",
            E(&meta.name.to_lowercase()),
            E(&row.label)
        );
        preview_list(&mut body, "Summary", &preview.deleted.per_model);
        preview_list(&mut body, "Set to empty", &preview.set_null);
        let _ = write!(
            body,
            "<form method=\"post\" action=\"{}/{}/{}/delete/\" class=\"confirm\">\
             <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{}\">\
             <button type=\"submit\" class=\"danger\">Yes, I’m sure</button> \
             <a class=\"button\" href=\"{}/{}/{}/change/\">No, take me back</a></form>",
            E(&req.base),
            E(&s),
            E(&url(&row.pk)),
            E(&session.csrf),
            E(&req.base),
            E(&s),
            E(&url(&row.pk))
        );
    }
    let mut layout = layout(&site, &req, &session, "Are you sure?");
    layout.crumbs = vec![
        (plural(meta.name), Some(format!("{}/{}/", req.base, s))),
        (
            row.label.clone(),
            Some(format!("{}/{}/{}/change/", req.base, s, url(&row.pk))),
        ),
        ("Delete".to_owned(), None),
    ];
    Ok(html(StatusCode::OK, layout.render(&body)))
}

/// `POST /<model>/<pk>/delete/`.
pub(crate) async fn delete(
    State(site): Shared,
    req: Req,
    Path((slug_name, pk)): Path<(String, String)>,
    body: Bytes,
) -> Page {
    let session = staff(&site, &req).await?;
    let ops = model(&site, &req, &slug_name)?.clone();
    check_csrf(&site, &req, &session, &form(&body))?;
    allowed(&site, &req, &session, ops.as_ref(), Action::Delete)?;
    match ops.delete(&pk, session.user.id).await {
        Ok(Ok(_)) => Ok(redirect(&format!("{}/{}/", req.base, slug(ops.as_ref())))),
        Ok(Err(message)) => Err(plain(
            &site,
            &req,
            StatusCode::CONFLICT,
            "Cannot delete",
            &message,
        )),
        Err(e) => Err(failure(&site, &req, e)),
    }
}

// ---------------------------------------------------------------- history

/// `GET /<model>/<pk>/history/`.
pub(crate) async fn history(
    State(site): Shared,
    req: Req,
    Path((slug_name, pk)): Path<(String, String)>,
) -> Page {
    let session = staff(&site, &req).await?;
    let ops = model(&site, &req, &slug_name)?.clone();
    allowed(&site, &req, &session, ops.as_ref(), Action::View)?;
    let meta = ops.meta();
    let name = meta.name.to_owned();
    let object_id = pk.clone();
    let entries = AdminLogEntry::all()
        .select_related(["user"])
        .filter(q!(model = name, object_id = object_id))
        .order_by(["-action_time", "-id"])
        .limit(1000)
        .await
        .map_err(|e| failure(&site, &req, e))?;
    let s = slug(ops.as_ref());
    let title = format!(
        "Change history: {}",
        entries
            .first()
            .map_or(pk.as_str(), |e| e.object_repr.as_str())
    );
    let mut body = format!("<h1>{}</h1>", E(&title));
    if entries.is_empty() {
        body.push_str("<p>This object has no change history through the admin.</p>");
    } else {
        body.push_str("<div class=\"table-wrap\"><table class=\"list\"><thead><tr><th scope=\"col\">Date/time</th><th scope=\"col\">User</th><th scope=\"col\">Action</th></tr></thead><tbody>");
        for entry in &entries {
            let user = entry
                .user
                .get()
                .map_or("?", |u: &AdminUser| u.username.as_str());
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                E(&entry
                    .action_time
                    .format("%Y-%m-%d %H:%M:%S UTC")
                    .to_string()),
                E(user),
                E(&entry.message())
            );
        }
        body.push_str("</tbody></table></div>");
    }
    let mut layout = layout(&site, &req, &session, &title);
    layout.crumbs = vec![
        (plural(meta.name), Some(format!("{}/{}/", req.base, s))),
        ("History".to_owned(), None),
    ];
    Ok(html(StatusCode::OK, layout.render(&body)))
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx"] {
            assert_eq!(csv_cell(formula), format!("'{formula}"));
        }
        assert_eq!(csv_cell("=A1,B1"), "\"'=A1,B1\"");
        assert_eq!(csv_cell(""), "");
    }
}
