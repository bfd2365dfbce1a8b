//! 公文書管理: every decided 起案 and finished application is a record with a retention class;
//! when it ends, a disposal 起案 approves 廃棄 (personal data and files removed, a destruction
//! record kept) or 移管 (exported as a self-describing archive package, then removed here).

use std::path::{Path, PathBuf};

use kencho_core::approval::doc::{format_date, parse_date};
use kencho_core::approval::org::PostId;
use kencho_core::approval::records::{HoldKind, RecordState, RetentionClass};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use time::Date;

use super::kian::{self, Draft, Kian, Source};
use super::setup::{Setup, SetupCache};
use crate::actor::Staff;
use crate::audit;
use crate::db::{now_ms, Arg, Batch, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};

mod archive;

use archive::package;

const INSERT: &str =
    "INSERT INTO records (tenant_id, subject, title, division_code, retention_years, disposal, completed_on, \
    expires_on, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (subject) DO NOTHING";

/// 起案 are written in the office's language.
const KIAN_LANG: &str = crate::i18n::OFFICE;

/// The day a 常用 record would expire: never, while in use.
const NEVER: &str = "9999-12-31";

/// The first day a record may be disposed of, as stored (`expires_on`).
fn expires_on(retention: i64, completed: Date) -> String {
    // Retention is checked when the 起案 or procedure is stored; an unknown value keeps the
    // record longest rather than shortest.
    let class = RetentionClass::from_code(retention).unwrap_or(RetentionClass::Years(30));
    class.disposable_from(completed).map(format_date).unwrap_or_else(|| NEVER.to_string())
}

/// Keeps a record (once; a second call for the same subject changes nothing), in the caller's
/// batch.
#[allow(clippy::too_many_arguments)]
pub fn keep_batched(
    batch: &mut Batch,
    tenant_id: i64,
    subject: &str,
    title: &str,
    division: &str,
    retention_years: i64,
    disposal: &str,
    completed: Date,
    now: i64,
) {
    batch.push(
        INSERT,
        vec![
            Arg::Int(tenant_id),
            Arg::Text(subject.into()),
            Arg::Text(title.into()),
            Arg::Text(division.into()),
            Arg::Int(retention_years),
            Arg::Text(disposal.into()),
            Arg::Text(format_date(completed)),
            Arg::Text(expires_on(retention_years, completed)),
            Arg::Text(RecordState::Kept.as_str().into()),
            Arg::Int(now),
        ],
    );
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Record {
    pub id: i64,
    pub subject: String,
    pub title: String,
    pub division_code: String,
    /// Years; 0 is 1年未満 and -1 常用.
    pub retention_years: i64,
    /// 1年未満, 5年, 常用 …
    pub retention: String,
    pub disposal: String,
    pub completed_on: String,
    pub expires_on: String,
    /// `kept`, `disposed` or `transferred`.
    #[schema(value_type = String)]
    pub state: RecordState,
    pub disposal_kian_id: Option<i64>,
    /// Holds in place (開示請求・訴訟・監査); a held record is not disposed of.
    pub open_holds: i64,
}

fn record_of(r: &sqlx::any::AnyRow) -> Result<Record> {
    Ok(Record {
        id: r.try_get("id")?,
        subject: r.try_get("subject")?,
        title: r.try_get("title")?,
        division_code: r.try_get("division_code")?,
        retention_years: r.try_get("retention_years")?,
        retention: RetentionClass::from_code(r.try_get("retention_years")?)
            .map(RetentionClass::label)
            .unwrap_or_default(),
        disposal: r.try_get("disposal")?,
        completed_on: r.try_get("completed_on")?,
        expires_on: r.try_get("expires_on")?,
        state: crate::db::parsed(r, "state", RecordState::parse)?,
        disposal_kian_id: r.try_get("disposal_kian_id")?,
        open_holds: r.try_get("open_holds")?,
    })
}

const COLS: &str = "id, subject, title, division_code, retention_years, disposal, completed_on, expires_on, state, \
    disposal_kian_id, (SELECT COUNT(*) FROM record_holds h WHERE h.record_id = records.id AND h.lifted_at IS NULL) AS open_holds";

/// The first and last day of fiscal year `fy` (April to March).
pub fn fiscal_bounds(fy: i32) -> (String, String) {
    (format!("{fy:04}-04-01"), format!("{:04}-03-31", fy + 1))
}

/// The disposal list: records whose retention ends during fiscal year `fy` (they may be
/// disposed of from that day), with what is to happen to each.
pub async fn expiring(db: &Db, tenant_id: i64, fy: i32) -> Result<Vec<Record>> {
    let (from, to) = fiscal_bounds(fy);
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM records WHERE tenant_id = $1 AND expires_on >= $2 AND expires_on <= $3 ORDER BY expires_on, id"
    ))
    .bind(tenant_id)
    .bind(&from)
    .bind(&to)
    .fetch_all(&db.read)
    .await?;
    rows.iter().map(record_of).collect()
}

/// What was destroyed or transferred.
#[derive(Debug, Clone, Serialize)]
pub struct Disposed {
    pub subject: String,
    pub title: String,
    pub action: String,
    pub kian_id: i64,
    pub package_path: Option<String>,
    pub package_sha256: Option<String>,
    pub done_at: i64,
}

pub async fn disposal_log(db: &Db, tenant_id: i64) -> Result<Vec<Disposed>> {
    let rows = sqlx::query(
        "SELECT subject, title, action, approved_by_kian, package_path, package_sha256, done_at FROM disposal_log \
         WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1000",
    )
    .bind(tenant_id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Disposed {
                subject: r.try_get("subject")?,
                title: r.try_get("title")?,
                action: r.try_get("action")?,
                kian_id: r.try_get("approved_by_kian")?,
                package_path: r.try_get("package_path")?,
                package_sha256: r.try_get("package_sha256")?,
                done_at: r.try_get("done_at")?,
            })
        })
        .collect()
}

/// The kind of matter a disposal 起案 is decided under in the 専決 table.
pub const DISPOSAL_MATTER: &str = "公文書廃棄";

/// Drafts the disposal 起案 for fiscal year `fy`: every kept record of the list whose
/// retention has ended by today and that is in no live disposal 起案. The 起案 and the claim on
/// each record commit together; a record claimed meanwhile by another disposal makes this one
/// fail whole (try again). Returns its id.
pub async fn draft_disposal(db: &Db, cache: &SetupCache, staff: &Staff, fy: i32) -> Result<i64> {
    // 公文書管理条例・文書管理規程: disposal is agreed with the records section (文書主管課,
    // for the 公文書館) before it is decided; without one named there is nobody to agree.
    let setup = cache.get(db, staff.tenant_id).await?;
    let records_division = setup.settings.records_division.clone().ok_or_else(|| {
        AppError::Refused(
            "records_section_unset",
            "name the records section (records_division) in the 電子決裁 settings first".into(),
        )
    })?;
    let due = due_for_disposal(db, staff.tenant_id, fy).await?;
    if due.is_empty() {
        return Err(AppError::Refused("nothing_to_dispose", "no record of that year is due for disposal today".into()));
    }
    let body = disposal_body(fy, &due);
    let mut draft = Draft {
        source: Source::Disposal,
        application_id: None,
        title: tf(KIAN_LANG, "approval.draft_disposal_title", &[("fy", &fy.to_string())]),
        body,
        matter_kind: DISPOSAL_MATTER.into(),
        amount: None,
        important: false,
        urgent: false,
        decision: None,
        drafter_post: None,
        consult: vec![(records_division.0, false)],
        retention_years: 30,
        disposal: "ikan".into(),
    };
    let prep = kian::prepare(db, cache, staff, &mut draft).await?;
    let mut ids: Vec<i64> = due.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    let staff = staff.clone();
    db.transact(move |conn| {
        Box::pin(async move {
            // The records first, in id order, then the 起案 (whose insert takes the audit head):
            // holds and 施行 lock a record and then append to the audit log, so the other order
            // could deadlock with them on PostgreSQL.
            for rid in &ids {
                crate::db::lock_for_update(conn, "records", *rid).await?;
            }
            let id = kian::insert(conn, &staff, &draft, &prep).await?;
            for rid in ids {
                let claimed = sqlx::query(
                    "UPDATE records SET disposal_kian_id = $1 WHERE id = $2 AND tenant_id = $3 AND state = $4 \
                     AND (disposal_kian_id IS NULL OR disposal_kian_id IN (SELECT id FROM kian WHERE state IN ('rejected', 'abandoned')))",
                )
                .bind(id)
                .bind(rid)
                .bind(staff.tenant_id)
                .bind(RecordState::Kept.as_str())
                .execute(&mut *conn)
                .await?
                .rows_affected();
                if claimed != 1 {
                    return Err(AppError::Conflict("another disposal claimed some of these records meanwhile; try again".into()));
                }
            }
            Ok(id)
        })
    })
    .await
}

/// The records of year `fy` a disposal may take today: kept, retention ended, on no hold, and
/// in no live disposal 起案 (one rejected or abandoned frees its records).
async fn due_for_disposal(db: &Db, tenant_id: i64, fy: i32) -> Result<Vec<Record>> {
    let today = format_date(crate::clock::date_at(now_ms()));
    // Held records (開示請求・訴訟・監査) wait until their hold is lifted.
    let free: Vec<Record> = expiring(db, tenant_id, fy)
        .await?
        .into_iter()
        .filter(|r| r.state == RecordState::Kept && r.expires_on <= today && r.open_holds == 0)
        .collect();
    let mut due = Vec::new();
    for r in free {
        let live = match r.disposal_kian_id {
            Some(k) => sqlx::query("SELECT id FROM kian WHERE id = $1 AND state NOT IN ('rejected', 'abandoned')")
                .bind(k)
                .fetch_optional(&db.read)
                .await?
                .is_some(),
            None => false,
        };
        if !live {
            due.push(r);
        }
    }
    Ok(due)
}

/// The disposal 起案's body: what goes and how.
fn disposal_body(fy: i32, due: &[Record]) -> String {
    let mut body = tf(KIAN_LANG, "approval.draft_disposal_body", &[("fy", &fy.to_string())]);
    for r in due {
        let what =
            t(KIAN_LANG, if r.disposal == "ikan" { "approval.disposal_ikan" } else { "approval.disposal_haiki" });
        body.push_str(&tf(
            KIAN_LANG,
            "approval.draft_disposal_line",
            &[
                ("title", &r.title),
                ("subject", &r.subject),
                ("retention", &r.retention),
                ("expires", &r.expires_on),
                ("action", &what),
            ],
        ));
    }
    body
}

/// What a committed disposal leaves to do on disk.
#[derive(Debug, Default)]
pub struct Released {
    /// Stored files whose rows went (removed when nothing else refers to them).
    pub files: Vec<String>,
    /// Archive packages written as `….partial`, put in place after the commit.
    pub packages: Vec<PathBuf>,
}

/// Carries out a decided disposal 起案 inside its 施行 transaction. Files are removed from
/// disk only after the commit (see [`remove_orphans`]); here their rows go.
#[allow(clippy::too_many_arguments)] // the 起案's transaction, its links and what it disposes of
pub async fn carry_out<L: kian::Links>(
    conn: &mut AnyConnection,
    links: &L,
    keys: &crate::crypto::Keyring,
    data_dir: &Path,
    staff: &Staff,
    setup: &Setup,
    k: &Kian,
) -> Result<Released> {
    let consulted_by = records_consulted(setup, k)?;
    let rows =
        sqlx::query(&format!("SELECT {COLS} FROM records WHERE disposal_kian_id = $1 AND state = $2 ORDER BY id"))
            .bind(k.id)
            .bind(RecordState::Kept.as_str())
            .fetch_all(&mut *conn)
            .await?;
    let records: Vec<Record> = rows.iter().map(record_of).collect::<Result<_>>()?;
    // A hold placed after the decision still stops it: the records are locked, then checked.
    for r in &records {
        super::holds::lock_record(conn, k.tenant_id, r.id).await?;
        if let Some(kind) = super::holds::open_kinds(conn, r.id).await?.first() {
            return Err(held(*kind, r));
        }
    }
    let now = now_ms();
    let mut released = Released::default();
    for r in records {
        let (package_path, package_sha) = if r.disposal == "ikan" {
            let (partial, sha) = package(conn, links, keys, data_dir, k.tenant_id, k.id, &r).await?;
            let final_path = partial.with_extension("");
            released.packages.push(partial);
            (Some(final_path.display().to_string()), Some(sha))
        } else {
            (None, None)
        };
        released.files.extend(erase(conn, &r.subject, now).await?);
        let state = RecordState::after_disposal(&r.disposal);
        sqlx::query("UPDATE records SET state = $1 WHERE id = $2")
            .bind(state.as_str())
            .bind(r.id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO disposal_log (tenant_id, record_id, subject, title, action, approved_by_kian, package_path, package_sha256, done_by, done_at, \
             consulted_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(k.tenant_id)
        .bind(r.id)
        .bind(&r.subject)
        .bind(&r.title)
        .bind(&r.disposal)
        .bind(k.id)
        .bind(&package_path)
        .bind(&package_sha)
        .bind(staff.id)
        .bind(now)
        .bind(consulted_by)
        .execute(&mut *conn)
        .await?;
        audit::append(
            conn,
            k.tenant_id,
            &format!("staff:{}", staff.id),
            if r.disposal == "ikan" { "record.transferred" } else { "record.destroyed" },
            &r.subject,
            serde_json::json!({"title": r.title, "kian": k.id, "number": k.number, "package_sha256": package_sha, "consulted_by": consulted_by}),
        )
        .await?;
    }
    Ok(released)
}

fn held(kind: HoldKind, r: &Record) -> AppError {
    AppError::Refused(
        "record_on_hold",
        format!("{} is held ({}) and cannot be disposed of until the hold is lifted", r.title, kind.label()),
    )
}

/// A disposal 起案 keeps the records section's 合議 on its route: a route edit or a submission
/// that would go without it is refused (409 `records_consult_required`) and changes nothing.
pub fn keeps_records_consult(setup: &Setup, k: &Kian) -> Result<()> {
    if k.source != Source::Disposal {
        return Ok(());
    }
    let today = crate::clock::date_at(now_ms());
    if records_section(setup, today).is_some_and(|in_section| k.route.consults(in_section)) {
        return Ok(());
    }
    Err(AppError::Refused(
        "records_consult_required",
        "a disposal keeps the 合議 of the records section on its route".into(),
    ))
}

/// Who of the records section agreed (合議) to a disposal 起案: the agreement must be on its
/// route, by a post of the tenant's records section, and by someone other than the drafter.
/// Returns their staff id. (The route keeps the 合議 (`keeps_records_consult`); this checks
/// that it was answered, by whom, under the section as it stands on the day of decision.)
fn records_consulted(setup: &Setup, k: &Kian) -> Result<i64> {
    let missing = || {
        AppError::Refused(
            "records_consult_missing",
            "a disposal needs the agreement (合議) of the records section before it is carried out".into(),
        )
    };
    let on = k.decided_on.as_deref().and_then(parse_date).unwrap_or_else(|| crate::clock::date_at(now_ms()));
    let in_section = records_section(setup, on).ok_or_else(missing)?;
    let by = k.route.agreed_by(in_section).ok_or_else(missing)?;
    let id = super::setup::staff_id_of(&by).ok_or_else(missing)?;
    if id == k.drafter_id {
        return Err(missing());
    }
    Ok(id)
}

/// Whether a post belongs to the tenant's records section on `on`; `None` when no section is
/// named in the settings.
fn records_section(setup: &Setup, on: Date) -> Option<impl Fn(&PostId) -> bool + '_> {
    let division = setup.settings.records_division.as_ref()?;
    Some(move |p: &PostId| setup.org.post(p, on).is_some_and(|p| &p.division == division))
}

fn subject_id(subject: &str) -> Option<(&str, i64)> {
    let (kind, id) = subject.split_once(':')?;
    Some((kind, id.parse().ok()?))
}

/// The `sha256` column of the rows `sql` selects for `id`.
async fn shas(conn: &mut AnyConnection, sql: &str, id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(sql).bind(id).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(r.try_get("sha256")?)).collect()
}

/// Removes the personal data and file rows of a record; what remains is that it existed (and
/// the hash-chained audit log, which is never rewritten). Returns the released file hashes.
async fn erase(conn: &mut AnyConnection, subject: &str, now: i64) -> Result<Vec<String>> {
    let Some((kind, id)) = subject_id(subject) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    match kind {
        "application" => {
            files.extend(shas(conn, "SELECT sha256 FROM attachments WHERE application_id = $1", id).await?);
            files.extend(
                shas(conn, "SELECT sha256 FROM issued_documents WHERE application_id = $1 AND disposed_at IS NULL", id)
                    .await?,
            );
            sqlx::query("UPDATE applications SET answers = '{}', content_hash = NULL, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE application_events SET message = NULL WHERE application_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM attachments WHERE application_id = $1").bind(id).execute(&mut *conn).await?;
            sqlx::query(
                "UPDATE issued_documents SET disposed_at = $1 WHERE application_id = $2 AND disposed_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            forget_mail(conn, &format!("app:{id}:%")).await?;
        }
        "kian" => {
            files.extend(shas(conn, "SELECT sha256 FROM kian_files WHERE kian_id = $1", id).await?);
            let route: String = sqlx::query("SELECT route FROM kian WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?
                .try_get("route")?;
            let mut route: kencho_core::approval::route::Route =
                serde_json::from_str(&route).map_err(|e| AppError::Internal(format!("stored route: {e}")))?;
            route.redact_comments();
            let route = serde_json::to_string(&route).map_err(AppError::unexpected)?;
            sqlx::query("UPDATE kian SET body = $1, search_text = '', route = $2, updated_at = $3 WHERE id = $4")
                .bind(t(KIAN_LANG, "approval.disposed_body"))
                .bind(&route)
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE kian_events SET comment = NULL WHERE kian_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM kian_files WHERE kian_id = $1").bind(id).execute(&mut *conn).await?;
            forget_mail(conn, &format!("kian:{id}:%")).await?;
        }
        _ => {}
    }
    Ok(files)
}

/// Deletes the sent mails about a record (their bodies repeat what it said); mails still
/// waiting to go out are left to go.
async fn forget_mail(conn: &mut AnyConnection, key_pattern: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM mailbox WHERE outbox_id IN (SELECT id FROM outbox WHERE dedupe_key LIKE $1 AND status = 'sent')",
    )
    .bind(key_pattern)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM outbox WHERE dedupe_key LIKE $1 AND status = 'sent'")
        .bind(key_pattern)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How long a stored file is left alone after it was written: an upload writes its file before
/// its row commits, and a disposal must not take that file away.
const FRESH: std::time::Duration = std::time::Duration::from_secs(600);

/// After a disposal committed: puts its archive packages in place and removes the released
/// files nothing refers to any more. Failures are logged; the records are disposed of already.
pub async fn finish(db: &Db, data_dir: &Path, released: &Released) {
    for partial in &released.packages {
        if let Err(e) = tokio::fs::rename(partial, partial.with_extension("")).await {
            tracing::error!(error = %e, path = %partial.display(), "could not put an archive package in place");
        }
    }
    for sha in &released.files {
        if let Err(e) = remove_if_unused(db, data_dir, sha).await {
            tracing::warn!(error = %e, sha, "a released file stays on disk");
        }
    }
}

async fn remove_if_unused(db: &Db, data_dir: &Path, sha: &str) -> Result<()> {
    let used: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM attachments WHERE sha256 = $1) + (SELECT COUNT(*) FROM kian_files WHERE sha256 = $1) \
         + (SELECT COUNT(*) FROM issued_documents WHERE sha256 = $1 AND disposed_at IS NULL) AS used",
    )
    .bind(sha)
    .fetch_one(&db.read)
    .await?
    .try_get("used")?;
    let path = crate::blobs::file_path(data_dir, sha);
    let age = tokio::fs::metadata(&path).await.ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
    if used == 0 && age.is_some_and(|a| a >= FRESH) {
        tokio::fs::remove_file(&path).await.map_err(AppError::unexpected)?;
    } else if used == 0 && age.is_some() {
        // Written moments ago: an upload of the same bytes may be about to commit.
        tracing::info!(sha, "a released file was written recently and stays for now");
    }
    Ok(())
}

/// Removes the packages a failed disposal of 起案 `kian_id` wrote.
pub async fn discard_partial(data_dir: &Path, kian_id: i64) {
    let Ok(mut rd) = tokio::fs::read_dir(data_dir.join("archives")).await else { return };
    let suffix = format!(".tar.{kian_id}");
    while let Ok(Some(e)) = rd.next_entry().await {
        if e.file_name().to_string_lossy().ends_with(&suffix) {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}

/// Removes stored files that no row refers to and that were written more than [`FRESH`] ago
/// (left by a disposal that ran right after an upload, or by a transaction that failed after
/// writing its file). Run now and then by the server.
pub async fn sweep_unused(db: &Db, data_dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let Ok(mut top) = tokio::fs::read_dir(data_dir.join("files")).await else { return Ok(0) };
    while let Ok(Some(sub)) = top.next_entry().await {
        let Ok(mut rd) = tokio::fs::read_dir(sub.path()).await else { continue };
        while let Ok(Some(f)) = rd.next_entry().await {
            let name = f.file_name().to_string_lossy().to_string();
            if name.len() != 64 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
                continue;
            }
            let before = tokio::fs::try_exists(f.path()).await.unwrap_or(false);
            remove_if_unused(db, data_dir, &name).await?;
            if before && !tokio::fs::try_exists(f.path()).await.unwrap_or(true) {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Sweeps unused files every hour.
pub async fn sweeper(db: Db, data_dir: PathBuf, stop: crate::worker::Stop) {
    let every = crate::worker::Every::new("file sweeper", std::time::Duration::from_secs(3600)).after_period();
    crate::worker::run(every, stop, || async {
        let n = sweep_unused(&db, &data_dir).await?;
        if n > 0 {
            tracing::info!(removed = n, "unused stored files removed");
        }
        Ok(crate::worker::Pass::Idle)
    })
    .await;
}
