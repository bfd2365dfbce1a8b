//! Signing in: a resident's password; a staff member's password and then TOTP (enrolled at
//! the first sign-in, each time step used once); limits counted before the password is
//! checked; sessions made, promoted and ended.

use sqlx::AnyConnection;
use totp_rs::{Algorithm, Secret, TOTP};

use super::model::{AccountKind, TotpRow};
use super::passwords::dummy_hash;
use super::store::{self, NewSession};
use super::{limits, random_token, token_hash, verify_password, Client, SignedIn, SESSION_HOURS};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::security::{self, Event, Kind};

async fn new_session(conn: &mut AnyConnection, kind: AccountKind, id: i64, mfa_ok: bool) -> Result<String> {
    let token = random_token();
    let now = now_ms();
    let s = NewSession {
        token_hash: &token_hash(&token),
        kind,
        principal_id: id,
        csrf: &random_token(),
        mfa_ok,
        now,
        expires_at: now + SESSION_HOURS * 3_600_000,
    };
    store::insert_session(conn, s).await?;
    Ok(token)
}

/// Resident log-in; returns a new session.
pub async fn login_resident(db: &Db, email: &str, password: &str, client: Client<'_>) -> Result<SignedIn> {
    let ok = check_login(db, AccountKind::Resident, email, password, client).await?;
    let (id, keys, ip, device) = (ok.id, ok.keys, client.ip.to_string(), client.device.map(str::to_string));
    let verified = ok.extra.is_some();
    let signed = db
        .transact(move |conn| {
            Box::pin(async move {
                limits::succeeded(conn, &keys).await?;
                if !verified {
                    return Ok(None);
                }
                let token = new_session(conn, AccountKind::Resident, id, true).await?;
                let device = limits::remember_device(conn, device.as_deref(), "resident", id).await?;
                let actor = format!("resident:{id}");
                audit::append(conn, audit::PLATFORM, &actor, "resident.login", &actor, serde_json::json!({"ip": ip}))
                    .await?;
                Ok(Some(SignedIn { token, device }))
            })
        })
        .await?;
    signed.ok_or_else(|| AppError::Conflict(detail!("detail.accounts.e_mail_address_yet")))
}

/// A password that matched, with the limit keys it was counted against.
struct PasswordOk {
    id: i64,
    extra: Option<i64>,
    keys: Vec<limits::Key>,
}

/// The password step shared by residents and staff: the attempt is counted first (atomically),
/// unknown addresses cost the same time as known ones, and failures are recorded.
async fn check_login(
    db: &Db,
    account_kind: AccountKind,
    email: &str,
    password: &str,
    client: Client<'_>,
) -> Result<PasswordOk> {
    let email = kencho_core::text::nfkc_trim(email).to_lowercase();
    let kind = account_kind.as_str();
    let row = store::login_row(db, account_kind, &email).await?;
    let account = row.as_ref().map(|r| (r.id, r.tenant_id));
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
    if !verify_password(password.to_string(), row.password_hash).await {
        security::record(db, failed("wrong password")).await?;
        return Err(AppError::BadLogin);
    }
    Ok(PasswordOk { id: row.id, extra: row.extra, keys })
}

/// First step of a staff log-in: password. Returns a session that still needs the TOTP step,
/// the staff id, and whether TOTP is enrolled.
pub async fn login_staff_password(
    db: &Db,
    email: &str,
    password: &str,
    client: Client<'_>,
) -> Result<(String, i64, bool)> {
    let ok = check_login(db, AccountKind::Staff, email, password, client).await?;
    let (id, keys) = (ok.id, ok.keys);
    let token = db
        .transact(move |conn| {
            Box::pin(async move {
                limits::succeeded(conn, &keys).await?;
                new_session(conn, AccountKind::Staff, id, false).await
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
        .map_err(|e| AppError::failed("totp", e))
}

/// The staff member's TOTP secret, creating one (not yet enabled) on first use. Returns the
/// base32 secret and the otpauth:// URL for authenticator apps.
pub async fn totp_enrolment(db: &Db, staff_id: i64) -> Result<(String, String)> {
    let place = totp_place(staff_id);
    let (email, stored) = store::totp_secret(db, staff_id).await?;
    let secret = match stored {
        Some(s) => db.keys().open(&place, &s)?,
        None => {
            let s = Secret::generate_secret().to_encoded().to_string();
            let sealed = db.keys().seal(&place, &s)?;
            db.transact(move |conn| Box::pin(async move { store::set_totp_secret(conn, staff_id, &sealed).await }))
                .await?;
            // Another request may have enrolled first: the stored secret is the one.
            match store::totp_secret(db, staff_id).await?.1 {
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
    let TotpRow { email, secret, last_step, tenant_id } = store::totp_row(db, staff_id).await?;
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
            if !store::use_totp_step(conn, staff_id, step).await? {
                return Err(AppError::BadLogin);
            }
            let token = random_token();
            if !store::promote_session(conn, (&old, &token_hash(&token)), &random_token(), staff_id, now_ms()).await? {
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
    db.transact(move |conn| Box::pin(async move { store::delete_session(conn, &token_hash).await })).await?;
    Ok(())
}
