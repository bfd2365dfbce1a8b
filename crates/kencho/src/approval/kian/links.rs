//! What a 起案 does to things other capabilities own. The 起案 is decided here; what its 施行
//! means for an application or a refund is wired in `crate::flows`, which implements
//! [`Links`], so this module names no other capability.

use std::future::Future;

use kencho_core::notice::{SignedDocument, SignedOf};
use sqlx::AnyConnection;

use crate::actor::Staff;
use crate::crypto::Keyring;
use crate::db::Db;
use crate::error::Result;

/// What an application's procedure decides for the 起案 on it, not the drafter.
#[derive(Debug, Clone)]
pub struct Matter {
    pub kind: String,
    pub retention_years: i64,
    pub disposal: String,
}

/// The 施行 of an application's 起案: the route's decision, the body as the notice, and the
/// 文書番号.
#[derive(Debug, Clone, Copy)]
pub struct RouteDecision<'a> {
    pub application_id: i64,
    pub approve: bool,
    pub notice: &'a str,
    pub number: Option<&'a str>,
}

/// What a record holds when it leaves kencho (移管): `record.json`, `history.json` and its
/// files (name, SHA-256).
#[derive(Debug, Clone)]
pub struct Archived {
    pub record: serde_json::Value,
    pub history: serde_json::Value,
    pub files: Vec<(String, String)>,
}

/// The other capabilities as a 起案 reaches them (implemented by `crate::flows::Links`).
pub trait Links: Clone + Send + Sync + 'static {
    /// Opens the application for the drafter (the view audited) and answers what its
    /// procedure decides; a procedure decided by one person refuses (`no_route`).
    fn application_matter(
        &self,
        db: &Db,
        staff: &Staff,
        application_id: i64,
    ) -> impl Future<Output = Result<Matter>> + Send;

    /// In the drafting transaction: locks the application and checks it may be decided now
    /// (the drafter may see it; it is accepted).
    fn lock_application(
        &self,
        conn: &mut AnyConnection,
        keys: &Keyring,
        staff: &Staff,
        application_id: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// In the 施行 transaction: the route's decision reaches the application.
    fn decide_application(
        &self,
        db: &Db,
        conn: &mut AnyConnection,
        base_url: &str,
        staff: &Staff,
        decision: RouteDecision<'_>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// In a disposal's 施行 transaction: what an application's record holds when it leaves
    /// kencho (移管), its answers in clear.
    fn archive_application(
        &self,
        conn: &mut AnyConnection,
        keys: &Keyring,
        application_id: i64,
    ) -> impl Future<Output = Result<Archived>> + Send;

    /// In a disposal's 施行 transaction: an application's personal data, attachments and
    /// documents go; the hashes of the files they were are returned (to be removed when
    /// nothing else uses them).
    fn erase_application(
        &self,
        conn: &mut AnyConnection,
        application_id: i64,
        now: i64,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// The signed documents of an application or a 起案 not yet disposed of, for its 移管
    /// package.
    fn signed_documents(
        &self,
        conn: &mut AnyConnection,
        of: SignedOf,
    ) -> impl Future<Output = Result<Vec<SignedDocument>>> + Send;

    /// How many attachments and documents (not 起案 files, which are this capability's) are
    /// the stored file `sha`.
    fn file_uses(&self, db: &Db, sha: &str) -> impl Future<Output = Result<i64>> + Send;

    /// In the 施行 transaction of an internal 起案: what waited for it (a refund) goes ahead.
    fn internal_executed(&self, conn: &mut AnyConnection, kian_id: i64) -> impl Future<Output = Result<()>> + Send;

    /// In the act's transaction, when an internal 起案 is refused or abandoned: what waited
    /// for it ends.
    fn internal_closed(&self, conn: &mut AnyConnection, kian_id: i64) -> impl Future<Output = Result<()>> + Send;
}
