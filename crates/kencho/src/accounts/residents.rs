//! Residents: sign-up with a verification mail, and the link that verifies the address.

use super::{check_password, hash_password, limits, random_token, store, token_hash};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{is_unique_violation, AppError, Result};
use crate::mail;
use crate::security::{self, Event, Kind};

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
        return Err(AppError::BadRequest(detail!("detail.accounts.e_mail_address")));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || kencho_core::text::has_control_chars(name, false) {
        return Err(AppError::BadRequest(detail!("detail.accounts.name")));
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
                let id = store::insert_resident(conn, &email2, &name2, &hash, now).await?;
                store::insert_verification(conn, &token_hash(&token), id, now + 24 * 3_600_000).await?;
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
            let id = store::use_verification(conn, &token_hash(&token), now)
                .await?
                .ok_or_else(|| AppError::BadRequest(detail!("detail.accounts.link_invalid_has_expired")))?;
            store::mark_verified(conn, id, now).await?;
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
