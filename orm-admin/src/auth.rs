//! Passwords (Argon2id), session keys and CSRF tokens, the session and
//! CSRF checks of each request, and login rate limiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;
use chrono::Utc;
use orm_core::prelude::*;
use sha2::{Digest, Sha256};

use crate::models::{AdminSession, AdminUser};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "admin_session";
/// The cookie holding the CSRF token of the login form (before a session).
pub(crate) const CSRF_COOKIE: &str = "admin_csrftoken";
/// The name of the hidden form field holding the CSRF token (Django's).
pub(crate) const CSRF_FIELD: &str = "csrfmiddlewaretoken";

fn server_error(what: impl std::fmt::Display) -> Error {
    Error::Config(format!("orm-admin: {what}"))
}

/// `n` random bytes from the operating system, in hex.
pub(crate) fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| server_error(format!("no random bytes: {e}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// SHA-256 of `text`, in hex: how a session key is stored.
pub(crate) fn key_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Equality in time independent of where the texts differ (the length
/// may show: tokens have a fixed one).
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The Argon2id hash of `password` with a fresh salt, as a PHC string.
///
/// # Errors
/// [`Error::Config`] when the OS gives no random bytes.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| server_error(format!("no random bytes: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(server_error)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(server_error)
}

/// True when `password` matches the PHC string `hash` (false for a hash
/// that does not parse).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash checked against when the username is unknown, so that a
/// missing user takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a password").unwrap_or_default())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=<base>/` always,
/// `Secure` when asked; `max_age` 0 deletes it.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    secure: bool,
) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A logged-in session and its user.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) user: AdminUser,
    pub(crate) csrf: String,
    pub(crate) id: i64,
    /// What the user may do.
    pub(crate) perms: crate::perms::Perms,
}

/// The session of the request's cookie, if it is valid and not expired.
pub(crate) async fn session(headers: &HeaderMap) -> Result<Option<Session>> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = key_hash(token);
    let now = Utc::now();
    let found = AdminSession::all()
        .select_related(["user"])
        .filter(q!(key_hash = hash, expires__gt = now))
        .first()
        .await?;
    let Some(mut found) = found else {
        return Ok(None);
    };
    let Some(user) = found.user.take() else {
        return Ok(None);
    };
    let perms = crate::perms::Perms::of(&user).await?;
    Ok(Some(Session {
        user,
        csrf: found.csrf_token,
        id: found.id,
        perms,
    }))
}

/// Opens a session for `user`: its row, and the cookie's value (only the
/// hash is stored).
pub(crate) async fn open_session(user: &AdminUser, age: Duration) -> Result<String> {
    let token = random_hex(32)?;
    let now = Utc::now();
    // Expired sessions go when someone logs in (Django's clearsessions).
    AdminSession::filter(q!(expires__lte = now))
        .delete()
        .await?;
    AdminSession::create(AdminSession {
        key_hash: key_hash(&token),
        user: ForeignKey::to(user)?,
        csrf_token: random_hex(32)?,
        expires: now + chrono::Duration::from_std(age).unwrap_or(chrono::Duration::days(14)),
        ..Default::default()
    })
    .await?;
    let mut user = user.clone();
    user.last_login = Some(now);
    user.save_fields(&["last_login"]).await?;
    Ok(token)
}

/// Checks `username`/`password` against the users: the user when they
/// match, whatever its flags (the caller checks `is_staff`).
pub(crate) async fn authenticate(username: &str, password: &str) -> Result<Option<AdminUser>> {
    if username.len() > 150 || password.len() > 4096 {
        // Nobody has such a name; a huge password is not hashed.
        return Ok(None);
    }
    let user = AdminUser::filter(q!(username = username.to_owned()))
        .first()
        .await?;
    // Hashing is slow: off the async workers.
    let hash = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password.clone());
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    Ok(user.filter(|_| ok))
}

/// Failures per (username, address): how many, since when.
type Failures = HashMap<(String, Option<IpAddr>), (u32, Instant)>;

/// Failed logins per username and client address, in memory: past
/// `max_failures` in `window`, further attempts are refused until the
/// window ends.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    failures: Mutex<Failures>,
    pub(crate) max_failures: u32,
    pub(crate) window: Duration,
}

impl RateLimiter {
    pub(crate) fn new(max_failures: u32, window: Duration) -> Self {
        RateLimiter {
            failures: Mutex::new(HashMap::new()),
            max_failures,
            window,
        }
    }

    fn key(username: &str, ip: Option<IpAddr>) -> (String, Option<IpAddr>) {
        (
            username.trim().to_lowercase().chars().take(150).collect(),
            ip,
        )
    }

    /// True when this username and address may try again.
    pub(crate) fn allowed(&self, username: &str, ip: Option<IpAddr>) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&Self::key(username, ip)) {
            Some((n, since)) => *n < self.max_failures || since.elapsed() >= self.window,
            None => true,
        }
    }

    /// Counts a failed attempt.
    pub(crate) fn failed(&self, username: &str, ip: Option<IpAddr>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bounded memory: old entries go first, and a flood all of it.
            let window = self.window;
            map.retain(|_, (_, since)| since.elapsed() < window);
            if map.len() > 100_000 {
                map.clear();
            }
        }
        let entry = map
            .entry(Self::key(username, ip))
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets the failures after a successful login.
    pub(crate) fn succeeded(&self, username: &str, ip: Option<IpAddr>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::key(username, ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("s3cret-pass").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("s3cret-pass", &hash));
        assert!(!verify_password("s3cret-pasS", &hash));
        assert!(!verify_password("s3cret-pass", "not a hash"));
        // A fresh salt each time.
        assert_ne!(hash, hash_password("s3cret-pass").unwrap());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(!constant_time_eq("", "a"));
    }

    #[test]
    fn rate_limiter_blocks_after_failures_per_user_and_address() {
        let ip: Option<IpAddr> = "127.0.0.1".parse().ok();
        let other: Option<IpAddr> = "127.0.0.2".parse().ok();
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.allowed("Ada", ip));
            limiter.failed("Ada", ip);
        }
        assert!(!limiter.allowed("ada", ip), "case-insensitive");
        assert!(limiter.allowed("ada", other), "per address");
        assert!(limiter.allowed("bob", ip), "per username");
        limiter.succeeded("ada", ip);
        assert!(limiter.allowed("ada", ip));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "a=1; admin_session=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "c"), None);
        assert_eq!(
            set_cookie("n", "v", "/admin", 10, true),
            "n=v; Path=/admin; Max-Age=10; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
