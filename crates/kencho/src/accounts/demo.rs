//! The demo's accounts: a verified resident and staff whose second factor is enrolled up
//! front, so `serve --demo` can print how to sign in as each of them.

use sqlx::AnyConnection;

use super::store::{self, NewStaff};
use super::totp_place;
use crate::crypto::Keyring;
use crate::db::Db;
use crate::error::{AppError, Result};

/// A demo staff member: tenant code, division code and name, e-mail, name, role.
pub type DemoStaff = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

/// The resident (e-mail, name) and the staff, all with the password whose hash is given, in
/// the caller's transaction; accounts that exist already are left as they are.
pub async fn seed(
    conn: &mut AnyConnection,
    keys: &Keyring,
    (hash, now): (&str, i64),
    resident: (&str, &str),
    staff: &[DemoStaff],
) -> Result<()> {
    store::insert_verified_resident(conn, resident.0, resident.1, hash, now).await?;
    for (tenant, div_code, div_name, email, name, role) in staff {
        let tenant_id = crate::tenants::id_in(conn, tenant).await?.ok_or(AppError::NotFound)?;
        let division_id = crate::procedures::upsert_division(conn, tenant_id, div_code, div_name).await?;
        // The TOTP secret is sealed to the row, so the row is made first.
        let secret = totp_rs::Secret::generate_secret().to_encoded().to_string();
        let new = NewStaff { tenant_id, division_id, email, name, role, password_hash: hash, now };
        if let Some(id) = store::insert_enrolled_staff(conn, new).await? {
            store::store_totp_secret(conn, id, &keys.seal(&totp_place(id), &secret)?).await?;
        }
    }
    Ok(())
}

/// A demo staff member's TOTP secret, opened, for the printout.
pub async fn totp_secret(db: &Db, email: &str) -> Result<String> {
    let (id, stored) = store::totp_by_email(db, email).await?;
    let stored = stored.ok_or_else(|| AppError::Internal("demo staff without TOTP".into()))?;
    Ok(db.keys().open(&totp_place(id), &stored)?)
}
