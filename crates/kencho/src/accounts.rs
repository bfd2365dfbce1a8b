//! Accounts: residents (sign up with a verified e-mail), staff (tenant, division, role, TOTP),
//! sessions, API tokens and login rate limiting. All state is in the database, so any number
//! of kencho processes can serve the same users.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use kencho_core::application::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{is_unique_violation, AppError, Result};
use crate::mail;

pub const SESSION_HOURS: i64 = 12;

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Password rule: 10–128 characters (length beats composition rules).
pub fn check_password(p: &str) -> Result<()> {
    let n = p.chars().count();
    if !(10..=128).contains(&n) {
        return Err(AppError::BadRequest(
            "password must be 10-128 characters / パスワードは10文字以上128文字以内".into(),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Resident {
    pub id: i64,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_code: String,
    pub tenant_name: String,
    pub division_id: i64,
    pub division_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub totp_enabled: bool,
}

#[derive(Debug, Clone)]
pub enum Principal {
    Resident(Resident),
    Staff(Staff),
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub csrf: String,
    pub mfa_ok: bool,
    pub principal: Principal,
}

// ---------- residents ----------

/// Creates an unverified resident and queues the verification mail; returns the token (the
/// link in the mail carries it).
pub async fn sign_up(db: &Db, base_url: &str, email: &str, name: &str, password: &str, lang: &str) -> Result<()> {
    let email = kencho_core::text::nfkc_trim(email).to_lowercase();
    if !kencho_core::forms::is_email(&email) {
        return Err(AppError::BadRequest("e-mail address / メールアドレスの形式".into()));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || kencho_core::text::has_control_chars(name, false) {
        return Err(AppError::BadRequest("name / 氏名は1〜100文字".into()));
    }
    check_password(password)?;
    let hash = hash_password(password.to_string()).await?;
    let token = random_token();
    let mut tx = db.write.begin().await?;
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO residents (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&email)
    .bind(name)
    .bind(&hash)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let id: i64 = match row {
        Ok(r) => r.try_get(0)?,
        // Do not reveal whether an address is registered: tell the owner by mail instead.
        Err(e) if is_unique_violation(&e) => {
            drop(tx);
            let mut tx = db.write.begin().await?;
            let (subject, body) = crate::notify::already_registered(lang, base_url);
            mail::enqueue(&mut tx, &format!("already-registered:{email}:{now}"), &email, &subject, &body).await?;
            tx.commit().await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    sqlx::query("INSERT INTO email_verifications (token_hash, resident_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash(&token))
        .bind(id)
        .bind(now + 24 * 3_600_000)
        .execute(&mut *tx)
        .await?;
    let (subject, body) = crate::notify::verify_email(lang, base_url, name, &token);
    mail::enqueue(&mut tx, &format!("verify:{id}"), &email, &subject, &body).await?;
    audit::append(
        &mut tx,
        audit::PLATFORM,
        &format!("resident:{id}"),
        "resident.sign_up",
        &format!("resident:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn verify_email(db: &Db, token: &str) -> Result<()> {
    let mut tx = db.write.begin().await?;
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE email_verifications SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING resident_id",
    )
    .bind(now)
    .bind(token_hash(token))
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::BadRequest("the link is invalid or has expired / リンクが無効か期限切れです".into()))?;
    let id: i64 = row.try_get(0)?;
    sqlx::query("UPDATE residents SET verified_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *tx).await?;
    audit::append(
        &mut tx,
        audit::PLATFORM,
        &format!("resident:{id}"),
        "resident.verify_email",
        &format!("resident:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------- rate limiting ----------

const WINDOW_MS: i64 = 15 * 60_000;
const MAX_PER_ACCOUNT: i64 = 5;
const MAX_PER_ADDRESS: i64 = 30;

async fn check_rate(db: &Db, keys: &[(String, i64)]) -> Result<()> {
    let since = now_ms() - WINDOW_MS;
    for (key, max) in keys {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM login_attempts WHERE key = $1 AND at > $2")
            .bind(key)
            .bind(since)
            .fetch_one(&db.read)
            .await?
            .try_get(0)?;
        if n >= *max {
            return Err(AppError::RateLimited);
        }
    }
    Ok(())
}

async fn record_failure(db: &Db, keys: &[(String, i64)]) -> Result<()> {
    let mut tx = db.write.begin().await?;
    let now = now_ms();
    for (key, _) in keys {
        sqlx::query("INSERT INTO login_attempts (key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM login_attempts WHERE at < $1").bind(now - WINDOW_MS).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn rate_keys(kind: &str, email: &str, ip: &str) -> Vec<(String, i64)> {
    vec![(format!("{kind}:{email}"), MAX_PER_ACCOUNT), (format!("ip:{ip}"), MAX_PER_ADDRESS)]
}

// ---------- log in ----------

async fn new_session(conn: &mut AnyConnection, kind: &str, id: i64, mfa_ok: bool) -> Result<String> {
    let token = random_token();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, kind, principal_id, csrf, mfa_ok, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

/// Resident log-in; returns a new session token.
pub async fn login_resident(db: &Db, email: &str, password: &str, ip: &str) -> Result<String> {
    let (id, verified) = check_login(
        db,
        "resident",
        "SELECT id, password_hash, verified_at FROM residents WHERE email = $1",
        email,
        password,
        ip,
    )
    .await?;
    if verified.is_none() {
        return Err(AppError::Conflict(
            "e-mail address not yet verified / メールアドレスの確認が済んでいません".into(),
        ));
    }
    let mut tx = db.write.begin().await?;
    let token = new_session(&mut tx, "resident", id, true).await?;
    audit::append(
        &mut tx,
        audit::PLATFORM,
        &format!("resident:{id}"),
        "resident.login",
        &format!("resident:{id}"),
        serde_json::json!({"ip": ip}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The password step shared by residents and staff: rate limits, constant work for unknown
/// addresses, failures recorded. `sql` selects (id, password_hash, one more column) by e-mail;
/// returns the id and that column.
async fn check_login(
    db: &Db,
    kind: &str,
    sql: &str,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<(i64, Option<i64>)> {
    let email = kencho_core::text::nfkc_trim(email).to_lowercase();
    let keys = rate_keys(kind, &email, ip);
    check_rate(db, &keys).await?;
    let row = sqlx::query(sql).bind(&email).fetch_optional(&db.read).await?;
    let Some(row) = row else {
        // Spend the same time as a real check, so timing does not reveal registered addresses.
        let _ = verify_password(password.to_string(), dummy_hash()).await;
        record_failure(db, &keys).await?;
        return Err(AppError::BadLogin);
    };
    let id: i64 = row.try_get(0)?;
    let hash: String = row.try_get(1)?;
    let extra: Option<i64> = row.try_get(2)?;
    if !verify_password(password.to_string(), hash).await {
        record_failure(db, &keys).await?;
        return Err(AppError::BadLogin);
    }
    Ok((id, extra))
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

/// First step of a staff log-in: password. Returns a session that still needs the TOTP step.
pub async fn login_staff_password(db: &Db, email: &str, password: &str, ip: &str) -> Result<(String, i64, bool)> {
    let (id, totp_enabled) = check_login(
        db,
        "staff",
        "SELECT id, password_hash, totp_enabled FROM staff WHERE email = $1",
        email,
        password,
        ip,
    )
    .await?;
    let totp_enabled = totp_enabled.unwrap_or(0);
    let mut tx = db.write.begin().await?;
    let token = new_session(&mut tx, "staff", id, false).await?;
    tx.commit().await?;
    Ok((token, id, totp_enabled == 1))
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
    let row =
        sqlx::query("SELECT email, totp_secret FROM staff WHERE id = $1").bind(staff_id).fetch_one(&db.read).await?;
    let email: String = row.try_get(0)?;
    let secret: Option<String> = row.try_get(1)?;
    let secret = match secret {
        Some(s) => s,
        None => {
            let s = Secret::generate_secret().to_encoded().to_string();
            sqlx::query("UPDATE staff SET totp_secret = $1 WHERE id = $2 AND totp_secret IS NULL AND totp_enabled = 0")
                .bind(&s)
                .bind(staff_id)
                .execute(&db.write)
                .await?;
            let row =
                sqlx::query("SELECT totp_secret FROM staff WHERE id = $1").bind(staff_id).fetch_one(&db.read).await?;
            row.try_get::<Option<String>, _>(0)?.unwrap_or(s)
        }
    };
    let url = totp_for(&secret, &email)?.get_url();
    Ok((secret, url))
}

/// Second step: checks a TOTP code (enabling TOTP on first success) and marks the session.
/// A code is accepted once: replays of the same or an older time step are refused.
pub async fn complete_mfa(db: &Db, session_token_hash: &str, staff_id: i64, code: &str, ip: &str) -> Result<()> {
    let keys = vec![(format!("totp:{staff_id}"), MAX_PER_ACCOUNT), (format!("ip:{ip}"), MAX_PER_ADDRESS)];
    check_rate(db, &keys).await?;
    let row = sqlx::query("SELECT email, totp_secret, totp_last_step, tenant_id FROM staff WHERE id = $1")
        .bind(staff_id)
        .fetch_one(&db.read)
        .await?;
    let email: String = row.try_get(0)?;
    let secret: Option<String> = row.try_get(1)?;
    let last_step: i64 = row.try_get(2)?;
    let tenant_id: i64 = row.try_get(3)?;
    let Some(secret) = secret else {
        return Err(AppError::BadLogin);
    };
    let totp = totp_for(&secret, &email)?;
    let code: String = kencho_core::text::digits_only(code);
    let now_s = (now_ms() / 1000) as u64;
    let step_now = (now_s / 30) as i64;
    // Accept the current step and one either side (clock drift), never a used one.
    let matched = [-1i64, 0, 1]
        .into_iter()
        .map(|d| step_now + d)
        .find(|s| *s > last_step && totp.generate((*s as u64) * 30) == code);
    let Some(step) = matched else {
        record_failure(db, &keys).await?;
        return Err(AppError::BadLogin);
    };
    let mut tx = db.write.begin().await?;
    let n = sqlx::query("UPDATE staff SET totp_enabled = 1, totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
        .bind(step)
        .bind(staff_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n != 1 {
        return Err(AppError::BadLogin);
    }
    sqlx::query("UPDATE sessions SET mfa_ok = 1 WHERE token_hash = $1")
        .bind(session_token_hash)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        tenant_id,
        &format!("staff:{staff_id}"),
        "staff.login",
        &format!("staff:{staff_id}"),
        serde_json::json!({"ip": ip}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
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
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&db.write).await?;
    Ok(())
}

const STAFF_COLS: &str =
    "s.id, s.tenant_id, t.code, t.name, s.division_id, d.name, s.email, s.name, s.role, s.totp_enabled";

fn staff_from_row(r: &sqlx::any::AnyRow) -> Result<Staff> {
    let role: String = r.try_get(8)?;
    Ok(Staff {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        tenant_code: r.try_get(2)?,
        tenant_name: r.try_get(3)?,
        division_id: r.try_get(4)?,
        division_name: r.try_get(5)?,
        email: r.try_get(6)?,
        name: r.try_get(7)?,
        role: Role::parse(&role).ok_or_else(|| AppError::Internal(format!("unknown role {role}")))?,
        totp_enabled: r.try_get::<i64, _>(9)? == 1,
    })
}

pub async fn staff_by_id(db: &Db, id: i64) -> Result<Option<Staff>> {
    let sql = format!(
        "SELECT {STAFF_COLS} FROM staff s JOIN tenants t ON t.id = s.tenant_id JOIN divisions d ON d.id = s.division_id WHERE s.id = $1"
    );
    sqlx::query(&sql).bind(id).fetch_optional(&db.read).await?.as_ref().map(staff_from_row).transpose()
}

/// Looks a session token up (cookie or `Authorization: Bearer`). API tokens are accepted too;
/// they act as their staff member with the second factor satisfied.
pub async fn session(db: &Db, token: &str) -> Result<Option<Session>> {
    let th = token_hash(token);
    // One query for the common case (a resident); staff need a second for their post.
    let row = sqlx::query(
        "SELECT s.kind, s.principal_id, s.csrf, s.mfa_ok, r.email, r.name FROM sessions s \
         LEFT JOIN residents r ON s.kind = 'resident' AND r.id = s.principal_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(&th)
    .bind(now_ms())
    .fetch_optional(&db.read)
    .await?;
    if let Some(row) = row {
        let kind: String = row.try_get(0)?;
        let id: i64 = row.try_get(1)?;
        let csrf: String = row.try_get(2)?;
        let mfa_ok = row.try_get::<i64, _>(3)? == 1;
        let principal = if kind == "resident" {
            match (row.try_get::<Option<String>, _>(4)?, row.try_get::<Option<String>, _>(5)?) {
                (Some(email), Some(name)) => Principal::Resident(Resident { id, email, name }),
                _ => return Ok(None),
            }
        } else {
            match staff_by_id(db, id).await? {
                Some(s) => Principal::Staff(s),
                None => return Ok(None),
            }
        };
        return Ok(Some(Session { token_hash: th, csrf, mfa_ok, principal }));
    }
    let row = sqlx::query("SELECT staff_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(&th)
        .fetch_optional(&db.read)
        .await?;
    if let Some(row) = row {
        let staff_id: i64 = row.try_get(0)?;
        if let Some(s) = staff_by_id(db, staff_id).await? {
            return Ok(Some(Session {
                token_hash: th,
                csrf: String::new(),
                mfa_ok: true,
                principal: Principal::Staff(s),
            }));
        }
    }
    Ok(None)
}

/// Creates an API token for integrations, acting as the given staff member; returns it once.
pub async fn create_api_token(db: &Db, by: &Staff, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::BadRequest("token name must be 1-100 characters / 名前は1〜100文字".into()));
    }
    let token = format!("kct_{}", random_token());
    let mut tx = db.write.begin().await?;
    let id: i64 = sqlx::query("INSERT INTO api_tokens (tenant_id, staff_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(by.tenant_id)
        .bind(by.id)
        .bind(name)
        .bind(token_hash(&token))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    audit::append(
        &mut tx,
        by.tenant_id,
        &format!("staff:{}", by.id),
        "api_token.create",
        &format!("api_token:{id}"),
        serde_json::json!({"name": name}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub revoked: bool,
}

pub async fn list_api_tokens(db: &Db, tenant_id: i64) -> Result<Vec<ApiTokenInfo>> {
    let rows = sqlx::query("SELECT id, name, created_at, revoked_at FROM api_tokens WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant_id)
        .fetch_all(&db.read)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiTokenInfo {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                created_at: r.try_get(2)?,
                revoked: r.try_get::<Option<i64>, _>(3)?.is_some(),
            })
        })
        .collect()
}

pub async fn revoke_api_token(db: &Db, by: &Staff, id: i64) -> Result<()> {
    let mut tx = db.write.begin().await?;
    let n =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .bind(by.tenant_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if n == 0 {
        return Err(AppError::NotFound);
    }
    audit::append(
        &mut tx,
        by.tenant_id,
        &format!("staff:{}", by.id),
        "api_token.revoke",
        &format!("api_token:{id}"),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
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
    check_password(password)?;
    let hash = hash_password(password.to_string()).await?;
    let mut tx = db.write.begin().await?;
    let tenant_id: i64 = sqlx::query("SELECT id FROM tenants WHERE code = $1")
        .bind(tenant_code)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::BadRequest(format!("unknown tenant \"{tenant_code}\"")))?
        .try_get(0)?;
    let division_id = crate::procedures::upsert_division(&mut tx, tenant_id, division.0, division.1).await?;
    let id: i64 = match sqlx::query(
        "INSERT INTO staff (tenant_id, division_id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant_id)
    .bind(division_id)
    .bind(&email)
    .bind(name.trim())
    .bind(role.as_str())
    .bind(&hash)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await
    {
        Ok(r) => r.try_get(0)?,
        Err(e) if is_unique_violation(&e) => return Err(AppError::Conflict(format!("{email} already has an account"))),
        Err(e) => return Err(e.into()),
    };
    audit::append(
        &mut tx,
        tenant_id,
        "cli",
        "staff.create",
        &format!("staff:{id}"),
        serde_json::json!({"role": role.as_str()}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
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
            n += sqlx::query("DELETE FROM login_attempts WHERE at < $1")
                .bind(now - WINDOW_MS)
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
pub async fn janitor(db: Db) {
    loop {
        if let Err(e) = purge_expired(&db).await {
            tracing::warn!(error = %e, "purging expired sessions");
        }
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}
