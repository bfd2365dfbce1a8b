//! Disposal: the disposal 起案 drafted over the records whose retention ended, and carried
//! out at its 施行 (廃棄: personal data and files removed, a destruction record kept; 移管: an
//! archive package written first).

use std::path::Path;

use kencho_core::approval::doc::{format_date, parse_date};
use kencho_core::approval::org::PostId;
use kencho_core::approval::records::{HoldKind, RecordState};
use sqlx::AnyConnection;
use time::Date;

use super::archive::package;
use super::keep::expiring;
use super::model::{subject_id, Record, Released};
use super::store;
use crate::actor::Staff;
use crate::approval::kian::{self, Draft, Kian, Source};
use crate::approval::setup::{Setup, SetupCache};
use crate::audit;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::i18n::{t, tf};

/// 起案 are written in the office's language.
const KIAN_LANG: &str = crate::i18n::OFFICE;

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
        AppError::Refused("records_section_unset", detail!("detail.approval.name_records_section_records"))
    })?;
    let due = due_for_disposal(db, staff.tenant_id, fy).await?;
    if due.is_empty() {
        return Err(AppError::Refused("nothing_to_dispose", detail!("detail.approval.no_record_that_year")));
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
                store::lock(conn, *rid).await?;
            }
            let id = kian::insert(conn, &staff, &draft, &prep).await?;
            for rid in ids {
                let claimed = store::claim(conn, id, rid, staff.tenant_id).await?;
                if claimed != 1 {
                    return Err(AppError::Conflict(detail!("detail.approval.another_disposal_claimed_some")));
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
            Some(k) => store::kian_is_live(db, k).await?,
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

/// Carries out a decided disposal 起案 inside its 施行 transaction. Files are removed from
/// disk only after the commit (see [`super::finish`]); here their rows go.
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
    let records = store::claimed_by(conn, k.id).await?;
    // A hold placed after the decision still stops it: the records are locked, then checked.
    for r in &records {
        crate::approval::holds::lock_record(conn, k.tenant_id, r.id).await?;
        if let Some(kind) = crate::approval::holds::open_kinds(conn, r.id).await?.first() {
            return Err(held(*kind, r));
        }
    }
    let now = now_ms();
    let mut released = Released::default();
    // Every row is written before the first audit entry: the audit head is the last lock a
    // transaction takes (an application's row after it could deadlock on PostgreSQL).
    let mut entries = Vec::with_capacity(records.len());
    for r in records {
        let (package_path, package_sha) = if r.disposal == "ikan" {
            let (partial, sha) = package(conn, links, keys, data_dir, k.tenant_id, k.id, &r).await?;
            let final_path = partial.with_extension("");
            released.packages.push(partial);
            (Some(final_path.display().to_string()), Some(sha))
        } else {
            (None, None)
        };
        released.files.extend(erase(conn, links, &r.subject, now).await?);
        let state = RecordState::after_disposal(&r.disposal);
        store::set_state(conn, r.id, state).await?;
        store::log_disposal(conn, k, &r, (&package_path, &package_sha), staff.id, now, consulted_by).await?;
        let action = if r.disposal == "ikan" { "record.transferred" } else { "record.destroyed" };
        let detail = serde_json::json!({"title": r.title, "kian": k.id, "number": k.number, "package_sha256": package_sha, "consulted_by": consulted_by});
        entries.push((action, r.subject, detail));
    }
    let actor = format!("staff:{}", staff.id);
    for (action, subject, detail) in entries {
        audit::append(conn, k.tenant_id, &actor, action, &subject, detail).await?;
    }
    Ok(released)
}

fn held(kind: HoldKind, r: &Record) -> AppError {
    AppError::Refused(
        "record_on_hold",
        detail!("detail.approval.held_disposed_until_hold", title = r.title, label = kind.label()),
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
    Err(AppError::Refused("records_consult_required", detail!("detail.approval.disposal_keeps_records_section")))
}

/// Who of the records section agreed (合議) to a disposal 起案: the agreement must be on its
/// route, by a post of the tenant's records section, and by someone other than the drafter.
/// Returns their staff id. (The route keeps the 合議 (`keeps_records_consult`); this checks
/// that it was answered, by whom, under the section as it stands on the day of decision.)
fn records_consulted(setup: &Setup, k: &Kian) -> Result<i64> {
    let missing =
        || AppError::Refused("records_consult_missing", detail!("detail.approval.disposal_needs_agreement_records"));
    let on = k.decided_on.as_deref().and_then(parse_date).unwrap_or_else(|| crate::clock::date_at(now_ms()));
    let in_section = records_section(setup, on).ok_or_else(missing)?;
    let by = k.route.agreed_by(in_section).ok_or_else(missing)?;
    let id = crate::approval::setup::staff_id_of(&by).ok_or_else(missing)?;
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

/// Removes the personal data and file rows of a record; what remains is that it existed (and
/// the hash-chained audit log, which is never rewritten). Returns the released file hashes.
async fn erase<L: kian::Links>(conn: &mut AnyConnection, links: &L, subject: &str, now: i64) -> Result<Vec<String>> {
    let Some((kind, id)) = subject_id(subject) else { return Ok(Vec::new()) };
    let mut files = Vec::new();
    match kind {
        "application" => {
            files.extend(links.erase_application(conn, id, now).await?);
            crate::mail::forget_sent(conn, &format!("app:{id}:%")).await?;
        }
        "kian" => {
            files.extend(store::kian_files(conn, id).await?.into_iter().map(|(_, sha)| sha));
            let route = store::kian_route(conn, id).await?;
            let mut route: kencho_core::approval::route::Route =
                serde_json::from_str(&route).map_err(|e| AppError::failed("stored route", e))?;
            route.redact_comments();
            let route = serde_json::to_string(&route).map_err(AppError::unexpected)?;
            store::erase_kian(conn, id, &t(KIAN_LANG, "approval.disposed_body"), &route, now).await?;
            crate::mail::forget_sent(conn, &format!("kian:{id}:%")).await?;
        }
        _ => {}
    }
    Ok(files)
}
