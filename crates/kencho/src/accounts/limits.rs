//! Sign-in limits, stored so that every kencho process shares them. An attempt is counted
//! before the password is checked, under the row lock of each key (the single writer on
//! SQLite), so concurrent guesses are counted one by one (the rules are in
//! `kencho_core::security::rate`).
//!
//! Keys for one attempt:
//! - `pair:{kind}:{account}:{address}`: 5 per 15 min, wiped by a success. A stranger's guesses
//!   block the stranger's address, not the owner's.
//! - `ip:{address}`: 50 per 15 min across accounts (an office behind one NAT signs in many
//!   people: successes do not count).
//! - `acct:{kind}:{account}`: 20 per 15 min from all addresses together, against guessing from
//!   many addresses; skipped for a browser that signed in to the account before (a device
//!   cookie), so even then the owner's own browser still gets in.

use kencho_core::security::rate::{self, Decision, Rule, State};
use sqlx::AnyConnection;

use super::store;

use crate::db::{now_ms, Db};
use crate::error::Result;

const WINDOW_MS: i64 = 15 * 60_000;
const PAIR: Rule = Rule { max: 5, window_ms: WINDOW_MS };
const ADDRESS: Rule = Rule { max: 50, window_ms: WINDOW_MS };
const ACCOUNT: Rule = Rule { max: 20, window_ms: WINDOW_MS };
/// Known-device cookies last a year.
pub const DEVICE_DAYS: i64 = 365;

/// One key an attempt counts against.
#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    rule: Rule,
    /// A success wipes the key (its own account and address) rather than un-counting.
    wipe: bool,
}

/// The keys of a sign-in (or second-factor) attempt on `account` of `kind` from `ip`.
/// `known_device`: the browser has signed in to this account before.
pub fn keys(kind: &str, account: &str, ip: &str, known_device: bool) -> Vec<Key> {
    let mut keys = vec![
        Key { name: format!("pair:{kind}:{account}:{ip}"), rule: PAIR, wipe: true },
        Key { name: format!("ip:{ip}"), rule: ADDRESS, wipe: false },
    ];
    if !known_device {
        keys.push(Key { name: format!("acct:{kind}:{account}"), rule: ACCOUNT, wipe: false });
    }
    keys
}

/// The keys of an anonymous creation that costs something (a sign-up sends a mail, a plan takes
/// a row): per address, and per e-mail address when there is one. `kind`: `signup`, `plan`.
pub fn creation_keys(kind: &str, ip: &str, email: Option<&str>) -> Vec<Key> {
    let per_address = if kind == "plan" { 60 } else { 10 };
    let mut keys = vec![Key {
        name: format!("create:{kind}:ip:{ip}"),
        rule: Rule { max: per_address, window_ms: 3_600_000 },
        wipe: false,
    }];
    if let Some(e) = email {
        keys.push(Key {
            name: format!("create:{kind}:email:{e}"),
            rule: Rule { max: 3, window_ms: 3_600_000 },
            wipe: false,
        });
    }
    keys
}

/// Counts an attempt against every key, or refuses it (nothing else counted) if any key is
/// blocked or becomes blocked by it. Returns the key that started a block, for the log.
pub async fn reserve(db: &Db, keys: Vec<Key>) -> Result<std::result::Result<(), (String, bool)>> {
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let mut next = Vec::with_capacity(keys.len());
            let mut refused: Option<(Key, State, bool)> = None;
            for k in &keys {
                let state = store::limit_state(conn, &k.name).await?;
                let (after, d) = rate::attempt(state, now, k.rule);
                match d {
                    Decision::Allowed => next.push((k, after)),
                    Decision::Blocked { started, .. } => {
                        if refused.is_none() {
                            refused = Some((k.clone(), after, started));
                        }
                    }
                }
            }
            if let Some((k, after, started)) = refused {
                if started {
                    store::save_limit(conn, &k.name, after, now).await?;
                }
                return Ok(Err((k.name, started)));
            }
            for (k, after) in next {
                store::save_limit(conn, &k.name, after, now).await?;
            }
            Ok(Ok(()))
        })
    })
    .await
}

/// The attempt succeeded: it no longer counts (and its own account-and-address key is wiped).
pub async fn succeeded(conn: &mut AnyConnection, keys: &[Key]) -> Result<()> {
    let now = now_ms();
    for k in keys {
        let state = store::limit_state(conn, &k.name).await?;
        store::save_limit(conn, &k.name, rate::succeeded(state, k.wipe), now).await?;
    }
    Ok(())
}

/// Whether `device` (the cookie's token) signed in to this account before.
pub async fn is_known_device(db: &Db, device: Option<&str>, kind: &str, principal_id: i64) -> Result<bool> {
    let Some(device) = device.filter(|d| d.len() <= 100) else {
        return Ok(false);
    };
    store::device_known(db, &super::token_hash(device), kind, principal_id, now_ms()).await
}

/// Remembers this browser for the account (a new device token unless it had one).
pub async fn remember_device(conn: &mut AnyConnection, device: Option<&str>, kind: &str, id: i64) -> Result<String> {
    let token =
        device.filter(|d| (20..=100).contains(&d.len())).map(str::to_string).unwrap_or_else(super::random_token);
    store::remember_device(conn, &super::token_hash(&token), kind, id, now_ms() + DEVICE_DAYS * 86_400_000).await?;
    Ok(token)
}

/// Old rows: limits idle for a day and expired devices.
pub async fn purge(conn: &mut AnyConnection, now: i64) -> Result<u64> {
    store::purge_limits(conn, now).await
}
