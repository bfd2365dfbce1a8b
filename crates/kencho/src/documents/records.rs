//! Documents as records: what a 移管 package lists of them, and their disposal with the
//! application they were issued on.

use kencho_core::notice::{SignedDocument, SignedOf};
use sqlx::AnyConnection;

use super::store;
use crate::db::Db;
use crate::error::Result;

/// The signed documents of an application or a 起案 not yet disposed of, each with its key.
pub async fn signed_of(conn: &mut AnyConnection, of: SignedOf) -> Result<Vec<SignedDocument>> {
    store::signed_of(conn, of).await
}

/// Disposes of an application's documents: the hashes of the files they were, which the
/// caller may then remove.
pub async fn dispose_of_application(conn: &mut AnyConnection, application_id: i64, now: i64) -> Result<Vec<String>> {
    let shas = store::live_shas_of_application(conn, application_id).await?;
    store::dispose_of_application(conn, application_id, now).await?;
    Ok(shas)
}

/// How many documents not disposed of are the stored file `sha`.
pub async fn file_uses(db: &Db, sha: &str) -> Result<i64> {
    store::live_uses(db, sha).await
}
