//! Accounts: residents (sign up with a verified e-mail), staff (tenant, division, role, TOTP),
//! sessions, API tokens and login rate limiting. All state is in the database, so any number
//! of kencho processes can serve the same users.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use kencho_core::application::Role;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{is_unique_violation, AppError, Result};
use crate::mail;
use crate::security::{self, Event, Kind};

pub mod limits;
pub mod sessions;
pub mod tokens;

pub use sessions::session;

pub const SESSION_HOURS: i64 = 12;

pub use crate::actor::{Principal, Resident, Staff};
pub use crate::crypto::random_token;

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(e.to_string())) // argon2's error is no std Error
    })
    .await
    .map_err(AppError::unexpected)?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// The password policy (`kencho_core::security::password`): length, not on the shipped list
/// of common and breached passwords, not made from the context words given (the account's
/// e-mail and name, `kencho`, a staff member's tenant).
pub fn check_password(p: &str, personal: &[&str]) -> Result<()> {
    kencho_core::security::password::check(p, personal).map_err(AppError::Password)
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf: String,
    pub mfa_ok: bool,
    pub principal: Principal,
    /// The API token and its scope, when the caller used one.
    pub api_token: Option<(i64, kencho_core::security::Scope)>,
}

/// Where a sign-in comes from: the client's address and the browser's device cookie.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub ip: &'a str,
    pub device: Option<&'a str>,
}

/// A signed-in session: its token, and the device token to keep in the browser.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub device: String,
}

// ---------- residents ----------

/// Creates an unverified resident and queues the verification mail; returns the token (the
/// link in the mail carries it).
pub async fn sign_up(
    db: &Db,
    base_url: &str,
    (email, name, password): (&str, &str, &str),
    lang: &str,
    ip: &str,
) -> Result<()> {
    let email = kencho_core::text::nfkc_trim(email).to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest("e-mail address / メールアドレスの形式".into()));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || kencho_core::text::has_control_chars(name, false) {
        return Err(AppError::BadRequest("name / 氏名は1〜100文字".into()));
    }
    check_password(password, &[&email, name, "kencho"])?;
    // Each sign-up sends a mail: a few per address and per e-mail an hour.
    let keys = limits::creation_keys("signup", ip, Some(&email));
    if let Err((key, _)) = limits::reserve(db, keys).await? {
        let ev = Event {
            tenant_id: None,
            kind: Kind::CreationLimited,
            actor: "anonymous",
            ip,
            detail: serde_json::json!({"key": key}),
        };
        security::record(db, ev).await?;
        return Err(AppError::RateLimited);
    }
    let hash = hash_password(password.to_string()).await?;
    let token = random_token();
    let now = now_ms();
    let (email2, name2, lang2, base2) = (email.clone(), name.to_string(), lang.to_string(), base_url.to_string());
    let created = db
        .transact(move |conn| {
            Box::pin(async move {
                let id: i64 = sqlx::query(
                    "INSERT INTO residents (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(&email2)
                .bind(&name2)
                .bind(&hash)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
                .try_get("id")?;
                sqlx::query("INSERT INTO email_verifications (token_hash, resident_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(token_hash(&token))
                    .bind(id)
                    .bind(now + 24 * 3_600_000)
                    .execute(&mut *conn)
                    .await?;
                let (subject, body) = crate::notify::verify_email(&lang2, &base2, &name2, &token);
                mail::enqueue(conn, &format!("verify:{id}"), &email2, &subject, &body).await?;
                let who = format!("resident:{id}");
                audit::append(conn, audit::PLATFORM, &who, "resident.sign_up", &who, serde_json::json!({})).await
            })
        })
        .await;
    match created {
        // Do not reveal whether an address is registered: tell the owner by mail instead.
        Err(AppError::Db(e)) if is_unique_violation(&e) => {
            let (subject, body) = crate::notify::already_registered(lang, base_url);
            db.transact(move |conn| {
                Box::pin(async move {
                    mail::enqueue(conn, &format!("already-registered:{email}:{now}"), &email, &subject, &body).await
                })
            })
            .await
        }
        other => other,
    }
}

pub async fn verify_email(db: &Db, token: &str) -> Result<()> {
    let token = token.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let row = sqlx::query(
                "UPDATE email_verifications SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING resident_id",
            )
            .bind(now)
            .bind(token_hash(&token))
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| AppError::BadRequest("the link is invalid or has expired / リンクが無効か期限切れです".into()))?;
            let id: i64 = row.try_get("resident_id")?;
            sqlx::query("UPDATE residents SET verified_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *conn).await?;
            audit::append(
                conn,
                audit::PLATFORM,
                &format!("resident:{id}"),
                "resident.verify_email",
                &format!("resident:{id}"),
                serde_json::json!({}),
            )
            .await?;
            Ok(())
        })
    })
    .await
}

// ---------- log in ----------

async fn new_session(conn: &mut AnyConnection, kind: &str, id: i64, mfa_ok: bool) -> Result<String> {
    let token = random_token();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, kind, principal_id, csrf, mfa_ok, created_at, expires_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
    )
    .bind(token_hash(&token))
    .bind(kind)
    .bind(id)
    .bind(random_token())
    .bind(i64::from(mfa_ok))
    .bind(now)
    .bind(now + SESSION_HOURS * 3_600_000)
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// Resident log-in; returns a new session.
pub async fn login_resident(db: &Db, email: &str, password: &str, client: Client<'_>) -> Result<SignedIn> {
    let ok = check_login(
        db,
        "resident",
        "SELECT id, password_hash, verified_at AS extra, 0 AS tenant_id FROM residents WHERE email = $1",
        email,
        password,
        client,
    )
    .await?;
    let (id, keys, ip, device) = (ok.id, ok.keys, client.ip.to_string(), client.device.map(str::to_string));
    let verified = ok.extra.is_some();
    let signed = db
        .transact(move |conn| {
            Box::pin(async move {
                limits::succeeded(conn, &keys).await?;
                if !verified {
                    return Ok(None);
                }
                let token = new_session(conn, "resident", id, true).await?;
                let device = limits::remember_device(conn, device.as_deref(), "resident", id).await?;
                let actor = format!("resident:{id}");
                audit::append(conn, audit::PLATFORM, &actor, "resident.login", &actor, serde_json::json!({"ip": ip}))
                    .await?;
                Ok(Some(SignedIn { token, device }))
            })
        })
        .await?;
    signed.ok_or_else(|| {
        AppError::Conflict("e-mail address not yet verified / メールアドレスの確認が済んでいません".into())
    })
}

/// A password that matched, with the limit keys it was counted against.
struct PasswordOk {
    id: i64,
    extra: Option<i64>,
    keys: Vec<limits::Key>,
}

/// The password step shared by residents and staff: the attempt is counted first (atomically),
/// unknown addresses cost the same time as known ones, and failures are recorded. `sql` selects
/// `id`, `password_hash`, `extra` and `tenant_id` by e-mail.
async fn check_login(
    db: &Db,
    kind: &str,
    sql: &str,
    email: &str,
    password: &str,
    client: Client<'_>,
) -> Result<PasswordOk> {
    let email = kencho_core::text::nfkc_trim(email).to_lowercase();
    let row = sqlx::query(sql).bind(&email).fetch_optional(&db.read).await?;
    let account = match &row {
        Some(r) => Some((r.try_get::<i64, _>("id")?, r.try_get::<i64, _>("tenant_id")?)),
        None => None,
    };
    let tenant_id = account.map(|(_, t)| t).filter(|t| *t != 0);
    let actor = match account {
        Some((id, _)) => format!("{kind}:{id}"),
        None => format!("unknown:{}", email.chars().take(100).collect::<String>()),
    };
    let known = match account {
        Some((id, _)) => limits::is_known_device(db, client.device, kind, id).await?,
        None => false,
    };
    let keys = limits::keys(kind, &email, client.ip, known);
    if let Err((key, started)) = limits::reserve(db, keys.clone()).await? {
        let kind = if started { Kind::BlockStarted } else { Kind::LoginRefused };
        let ev = Event { tenant_id, kind, actor: &actor, ip: client.ip, detail: serde_json::json!({"key": key}) };
        security::record(db, ev).await?;
        return Err(AppError::RateLimited);
    }
    let failed = |why: &'static str| Event {
        tenant_id,
        kind: Kind::LoginFailed,
        actor: &actor,
        ip: client.ip,
        detail: serde_json::json!({"why": why}),
    };
    let Some(row) = row else {
        // Spend the same time as a real check, so timing does not reveal registered addresses.
        let _ = verify_password(password.to_string(), dummy_hash()).await;
        security::record(db, failed("unknown account")).await?;
        return Err(AppError::BadLogin);
    };
    let hash: String = row.try_get("password_hash")?;
    if !verify_password(password.to_string(), hash).await {
        security::record(db, failed("wrong password")).await?;
        return Err(AppError::BadLogin);
    }
    Ok(PasswordOk { id: row.try_get("id")?, extra: row.try_get("extra")?, keys })
}

/// A real hash to check against when the account does not exist, so both paths cost the same.
fn dummy_hash() -> String {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(b"not a password", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
    .clone()
}

/// First step of a staff log-in: password. Returns a session that still needs the TOTP step,
/// the staff id, and whether TOTP is enrolled.
pub async fn login_staff_password(
    db: &Db,
    email: &str,
    password: &str,
    client: Client<'_>,
) -> Result<(String, i64, bool)> {
    let ok = check_login(
        db,
        "staff",
        "SELECT id, password_hash, totp_enabled AS extra, tenant_id FROM staff WHERE email = $1",
        email,
        password,
        client,
    )
    .await?;
    let (id, keys) = (ok.id, ok.keys);
    let token = db
        .transact(move |conn| {
            Box::pin(async move {
                limits::succeeded(conn, &keys).await?;
                new_session(conn, "staff", id, false).await
            })
        })
        .await?;
    Ok((token, id, ok.extra.unwrap_or(0) == 1))
}

fn totp_for(secret_b32: &str, account: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_string())
        .to_bytes()
        .map_err(|e| AppError::Internal(format!("totp secret: {e:?}")))?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, Some("kencho".into()), account.to_string())
        .map_err(|e| AppError::Internal(format!("totp: {e}")))
}

/// The staff member's TOTP secret, creating one (not yet enabled) on first use. Returns the
/// base32 secret and the otpauth:// URL for authenticator apps.
pub async fn totp_enrolment(db: &Db, staff_id: i64) -> Result<(String, String)> {
    let place = totp_place(staff_id);
    let row =
        sqlx::query("SELECT email, totp_secret FROM staff WHERE id = $1").bind(staff_id).fetch_one(&db.read).await?;
    let email: String = row.try_get("email")?;
    let stored: Option<String> = row.try_get("totp_secret")?;
    let secret = match stored {
        Some(s) => db.keys().open(&place, &s)?,
        None => {
            let s = Secret::generate_secret().to_encoded().to_string();
            let sealed = db.keys().seal(&place, &s)?;
            db.transact(move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE staff SET totp_secret = $1 WHERE id = $2 AND totp_secret IS NULL AND totp_enabled = 0",
                    )
                    .bind(&sealed)
                    .bind(staff_id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await?;
            // Another request may have enrolled first: the stored secret is the one.
            let row =
                sqlx::query("SELECT totp_secret FROM staff WHERE id = $1").bind(staff_id).fetch_one(&db.read).await?;
            match row.try_get::<Option<String>, _>("totp_secret")? {
                Some(stored) => db.keys().open(&place, &stored)?,
                None => s,
            }
        }
    };
    let url = totp_for(&secret, &email)?.get_url();
    Ok((secret, url))
}

/// Where a staff member's TOTP secret is sealed (see [`crate::crypto`]).
pub fn totp_place(staff_id: i64) -> String {
    crate::crypto::place("staff.totp_secret", staff_id)
}

/// Second step: checks a TOTP code (enabling TOTP on first success) and turns the password
/// session into a full one under a new token (the half-signed-in token stops working). A code
/// is accepted once: replays of the same or an older time step are refused. Returns the new
/// session and the device token to keep.
pub async fn complete_mfa(
    db: &Db,
    session_token_hash: &str,
    staff_id: i64,
    code: &str,
    client: Client<'_>,
) -> Result<SignedIn> {
    let row = sqlx::query("SELECT email, totp_secret, totp_last_step, tenant_id FROM staff WHERE id = $1")
        .bind(staff_id)
        .fetch_one(&db.read)
        .await?;
    let email: String = row.try_get("email")?;
    let secret: Option<String> = row.try_get("totp_secret")?;
    let last_step: i64 = row.try_get("totp_last_step")?;
    let tenant_id: i64 = row.try_get("tenant_id")?;
    let keys = limits::keys("totp", &staff_id.to_string(), client.ip, false);
    let actor = format!("staff:{staff_id}");
    if let Err((key, started)) = limits::reserve(db, keys.clone()).await? {
        let kind = if started { Kind::BlockStarted } else { Kind::LoginRefused };
        let ev = Event {
            tenant_id: Some(tenant_id),
            kind,
            actor: &actor,
            ip: client.ip,
            detail: serde_json::json!({"key": key}),
        };
        security::record(db, ev).await?;
        return Err(AppError::RateLimited);
    }
    let Some(secret) = secret else {
        return Err(AppError::BadLogin);
    };
    let secret = db.keys().open(&totp_place(staff_id), &secret)?;
    let totp = totp_for(&secret, &email)?;
    let Some(step) = matching_step(&totp, code, last_step) else {
        let ev = Event {
            tenant_id: Some(tenant_id),
            kind: Kind::MfaFailed,
            actor: &actor,
            ip: client.ip,
            detail: serde_json::json!({}),
        };
        security::record(db, ev).await?;
        return Err(AppError::BadLogin);
    };
    promote_session(db, (staff_id, tenant_id), step, session_token_hash, keys, client).await
}

/// The time step a code belongs to: the current step or one either side (clock drift), never
/// one at or before the last step used.
fn matching_step(totp: &TOTP, code: &str, last_step: i64) -> Option<i64> {
    let code: String = kencho_core::text::digits_only(code);
    let now_s = (now_ms() / 1000) as u64;
    let step_now = (now_s / 30) as i64;
    [-1i64, 0, 1].into_iter().map(|d| step_now + d).find(|s| *s > last_step && totp.generate((*s as u64) * 30) == code)
}

/// The signing-in half of [`complete_mfa`], in one transaction: the step is used up (refused
/// when another request took it first), the session gets a new token and counts as signed in,
/// the limits are released, the device remembered, and the sign-in audited.
async fn promote_session(
    db: &Db,
    (staff_id, tenant_id): (i64, i64),
    step: i64,
    session_token_hash: &str,
    keys: Vec<limits::Key>,
    client: Client<'_>,
) -> Result<SignedIn> {
    let actor = format!("staff:{staff_id}");
    let (old, ip, device) = (session_token_hash.to_string(), client.ip.to_string(), client.device.map(str::to_string));
    db.transact(move |conn| {
        Box::pin(async move {
            let n = sqlx::query(
                "UPDATE staff SET totp_enabled = 1, totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
            )
            .bind(step)
            .bind(staff_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(AppError::BadLogin);
            }
            let token = random_token();
            let n = sqlx::query(
                "UPDATE sessions SET token_hash = $1, csrf = $2, mfa_ok = 1, last_seen_at = $3 \
                 WHERE token_hash = $4 AND kind = 'staff' AND principal_id = $5",
            )
            .bind(token_hash(&token))
            .bind(random_token())
            .bind(now_ms())
            .bind(&old)
            .bind(staff_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(AppError::Unauthenticated);
            }
            limits::succeeded(conn, &keys).await?;
            let device = limits::remember_device(conn, device.as_deref(), "staff", staff_id).await?;
            audit::append(conn, tenant_id, &actor, "staff.login", &actor, serde_json::json!({"ip": ip})).await?;
            Ok(SignedIn { token, device })
        })
    })
    .await
}

/// Current TOTP code for a secret (used by the demo printout and tests).
pub fn totp_code_now(secret_b32: &str) -> Result<String> {
    totp_code_at(secret_b32, (now_ms() / 1000) as u64)
}

/// The TOTP code at a Unix time (tests logging one person in twice use the next step, as a
/// phone whose clock runs a little ahead would).
pub fn totp_code_at(secret_b32: &str, unix_s: u64) -> Result<String> {
    let t = totp_for(secret_b32, "x")?;
    Ok(t.generate(unix_s))
}

pub async fn logout(db: &Db, token_hash: &str) -> Result<()> {
    let token_hash = token_hash.to_string();
    db.transact(move |conn| {
        Box::pin(async move {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(&token_hash).execute(&mut *conn).await?;
            Ok(())
        })
    })
    .await?;
    Ok(())
}

const STAFF_COLS: &str = "s.id, s.tenant_id, t.code AS tenant_code, t.name AS tenant_name, s.division_id, \
     d.code AS division_code, d.name AS division_name, s.email, s.name, s.role, s.totp_enabled";

fn staff_from_row(r: &sqlx::any::AnyRow) -> Result<Staff> {
    let role: String = r.try_get("role")?;
    Ok(Staff {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        tenant_code: r.try_get("tenant_code")?,
        tenant_name: r.try_get("tenant_name")?,
        division_id: r.try_get("division_id")?,
        division_code: r.try_get("division_code")?,
        division_name: r.try_get("division_name")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| AppError::Internal(format!("unknown role {role}")))?,
        totp_enabled: r.try_get::<i64, _>("totp_enabled")? == 1,
    })
}

pub async fn staff_by_id(db: &Db, id: i64) -> Result<Option<Staff>> {
    let sql = format!(
        "SELECT {STAFF_COLS} FROM staff s JOIN tenants t ON t.id = s.tenant_id JOIN divisions d ON d.id = s.division_id WHERE s.id = $1"
    );
    sqlx::query(&sql).bind(id).fetch_optional(&db.read).await?.as_ref().map(staff_from_row).transpose()
}

/// Creates a staff account (the tenant administrator's or operator's job). The password is
/// set now; the second factor is enrolled at first sign-in.
pub async fn create_staff(
    db: &Db,
    tenant_code: &str,
    division: (&str, &str),
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<i64> {
    let email = kencho_core::text::nfkc_trim(email).to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest(format!("not an e-mail address: {email}")));
    }
    if name.trim().is_empty() || !kencho_core::procedure::is_code(division.0) || division.1.trim().is_empty() {
        return Err(AppError::BadRequest("name, division code ([a-z0-9-]) and division name are required".into()));
    }
    check_password(password, &[&email, name, "kencho", tenant_code])?;
    let hash = hash_password(password.to_string()).await?;
    let (tenant_code, name, d0, d1) =
        (tenant_code.to_string(), name.trim().to_string(), division.0.to_string(), division.1.to_string());
    db.transact(move |conn| {
        Box::pin(async move {
            let tenant_id: i64 = sqlx::query("SELECT id FROM tenants WHERE code = $1")
                .bind(&tenant_code)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| AppError::BadRequest(format!("unknown tenant \"{tenant_code}\"")))?
                .try_get("id")?;
            let division_id = crate::procedures::upsert_division(conn, tenant_id, &d0, &d1).await?;
            let id: i64 = match sqlx::query(
                "INSERT INTO staff (tenant_id, division_id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(tenant_id)
            .bind(division_id)
            .bind(&email)
            .bind(&name)
            .bind(role.as_str())
            .bind(&hash)
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await
            {
                Ok(r) => r.try_get("id")?,
                Err(e) if is_unique_violation(&e) => return Err(AppError::Conflict(format!("{email} already has an account"))),
                Err(e) => return Err(e.into()),
            };
            audit::append(
                conn,
                tenant_id,
                "cli",
                "staff.create",
                &format!("staff:{id}"),
                serde_json::json!({"role": role.as_str()}),
            )
            .await?;
            Ok(id)
        })
    })
    .await
}

/// Deletes expired sessions, old login attempts and spent verification links. Safe to run in
/// every process at once.
pub async fn purge_expired(db: &Db) -> Result<u64> {
    db.transact(|conn| {
        Box::pin(async move {
            let now = now_ms();
            let mut n = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(now)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            n += limits::purge(conn, now).await?;
            n += security::purge(conn, now).await?;
            n += sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
                .bind(now - sessions::RESIDENT_IDLE_MS.max(sessions::STAFF_IDLE_MS))
                .execute(&mut *conn)
                .await?
                .rows_affected();
            n += sqlx::query("DELETE FROM email_verifications WHERE expires_at < $1")
                .bind(now - 7 * 86_400_000)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok(n)
        })
    })
    .await
}

/// Runs [`purge_expired`] every ten minutes.
pub async fn janitor(db: Db, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("session janitor", std::time::Duration::from_secs(600));
    crate::worker::run(every, stop, || async { purge_expired(&db).await.map(|_| crate::worker::Pass::Idle) }).await;
}

/// Every staff member's name in a tenant, by id (for showing who acted).
pub async fn staff_names(db: &Db, tenant_id: i64) -> Result<std::collections::HashMap<i64, String>> {
    let rows =
        sqlx::query("SELECT id, name FROM staff WHERE tenant_id = $1").bind(tenant_id).fetch_all(&db.read).await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect()
}
