//! Submission and the office's actions: each one transaction with its history event, audit
//! entry and mail.

use std::sync::Arc;

use kencho_core::application::{self as machine, Action, Actor, Status};
use kencho_core::forms::{self, Answers};
use kencho_core::procedure::{ApplicantKind, FieldKind};
use kencho_core::receipt;
use serde_json::Value;
use sqlx::AnyConnection;

use super::drafts::accepts;
use super::model::{seal_answers, Application, Submitted};
use super::store::{self, load, lock_row, SubmittedRow};
use super::{procedure_version, staff_may_see, Links};
use crate::actor::{Resident, Staff};
use crate::audit;
use crate::crypto::Keyring;
use crate::db::{now_ms, Batch, Db};
use crate::error::{is_unique_violation, AppError, Result};
use crate::mail;
use crate::notify::{self, AppMail};
use crate::procedures::Procedure;

fn mail_for<'a>(base_url: &'a str, lang: &'a str, a: &'a Application, p: &'a Procedure) -> AppMail<'a> {
    AppMail {
        base_url,
        lang,
        name: &a.resident_name,
        procedure_title: &p.def.title,
        tenant_name: &p.tenant_name,
        receipt_number: a.receipt_number.as_deref().unwrap_or("-"),
        application_id: a.id,
    }
}

/// Validates everything and submits (or, under correction, resubmits). Posting the same
/// submission twice returns the first result and changes nothing.
pub async fn submit<L: Links>(
    db: &Db,
    links: L,
    base_url: &str,
    lang: &str,
    resident: &Resident,
    id: i64,
    revision: i64,
) -> Result<Submitted> {
    let (db2, base_url, lang, resident) = (db.clone(), base_url.to_string(), lang.to_string(), resident.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            lock_row(conn, id).await?;
            let a = load(conn, &db2.keys(), id).await?;
            if a.resident_id != resident.id {
                return Err(AppError::NotFound);
            }
            // A repeated post of the form we already accepted: same answer, nothing new.
            if a.revision == revision + 1 && matches!(a.status, Status::Submitted | Status::Accepted) {
                if let (Some(r), Some(h)) = (&a.receipt_number, &a.content_hash) {
                    return Ok(Submitted {
                        receipt_number: r.clone(),
                        content_hash: h.clone(),
                        status: a.status,
                        new: false,
                        resubmitted: false,
                    });
                }
            }
            if a.revision != revision {
                return Err(AppError::StaleForm);
            }
            let p = procedure_version(&db2, a.procedure_id).await?;
            if a.status == Status::Draft {
                links.before_submission(conn, &p, a.id).await?;
            }
            let action = if a.status == Status::CorrectionRequested { Action::Resubmit } else { Action::Submit };
            let to = machine::transition(a.facts(&p), Actor::Applicant, &action)?;
            finish_submission(conn, &db2.keys(), &base_url, &lang, &resident, &a, &p, action, to, None).await
        })
    })
    .await
}

#[allow(clippy::too_many_arguments)]
async fn finish_submission(
    tx: &mut AnyConnection,
    keys: &Keyring,
    base_url: &str,
    lang: &str,
    resident: &Resident,
    a: &Application,
    p: &Procedure,
    action: Action,
    to: Status,
    // Set by `submit_new`, which validated the answers just before and already holds the
    // audit chain's next place.
    taken_head: Option<(i64, String)>,
) -> Result<Submitted> {
    // Answers checked just before the transaction are not checked again inside it (the
    // writer is the one place every write queues for).
    let (answers_value, hashes) = submitted_answers(tx, a, p, taken_head.is_none()).await?;
    let applicant = format!("resident:{}", resident.id);
    let content_hash = receipt::content_hash(&p.code, p.version, &applicant, &answers_value, &hashes);
    let now = now_ms();
    let receipt_number = match &a.receipt_number {
        Some(r) => r.clone(),
        None => {
            let prefix = &p.receipt_prefix;
            let year = crate::clock::today().year();
            receipt::receipt_number(prefix, year, a.id)
        }
    };
    // 標準処理期間: starts at the first submission; a 補正 only paused it.
    let earlier = match (action == Action::Resubmit, a.submitted_at, a.due_at) {
        (true, Some(submitted_at), Some(due_at)) => Some(machine::Clock { submitted_at, due_at }),
        _ => None,
    };
    let clock = machine::clock_after_submission(earlier, a.paused_at, now, p.def.standard_days);
    // The writes that need no answer go to the database in one batch.
    let mut batch = Batch::new();
    store::push_submitted(
        &mut batch,
        SubmittedRow {
            id: a.id,
            status: to,
            sealed_answers: seal_answers(keys, a.id, &answers_value)?,
            receipt_number: receipt_number.clone(),
            content_hash: content_hash.clone(),
            submitted_at: clock.submitted_at,
            due_at: clock.due_at,
            now,
        },
    );
    store::push_event(&mut batch, a, (&applicant, &resident.name), &action, to);
    let detail = serde_json::json!({"receipt": receipt_number, "content_hash": content_hash, "procedure": p.code, "version": p.version});
    let (audit_action, target) = (format!("application.{}", action.name()), format!("application:{}", a.id));
    match taken_head {
        Some(head) => audit::push_entry(&mut batch, a.tenant_id, head, &applicant, &audit_action, &target, detail),
        None => audit::append_batched(tx, &mut batch, a.tenant_id, &applicant, &audit_action, &target, detail).await?,
    }
    let mut view = a.clone();
    view.receipt_number = Some(receipt_number.clone());
    let m = mail_for(base_url, lang, &view, p);
    let (subject, body) = if action == Action::Submit {
        notify::submitted(&m, &content_hash)
    } else {
        notify::status_changed(
            &m,
            &crate::i18n::words::action(lang, &action),
            &crate::i18n::words::status(lang, to),
            None,
        )
    };
    let rev = a.revision;
    mail::enqueue_batched(
        &mut batch,
        &format!("app:{}:{}:{rev}", a.id, action.name()),
        &a.resident_email,
        &subject,
        &body,
    );
    batch.run(tx).await?;
    Ok(Submitted { receipt_number, content_hash, status: to, new: true, resubmitted: action == Action::Resubmit })
}

/// The answers as submitted (checked when `validate`), and the hashes of the attachments
/// they still reference.
async fn submitted_answers(
    tx: &mut AnyConnection,
    a: &Application,
    p: &Procedure,
    validate: bool,
) -> Result<(Value, Vec<String>)> {
    // One look at the attachments, and none for procedures without file fields.
    let has_files = p.def.fields().any(|f| matches!(f.kind, FieldKind::File { .. }));
    let files = if has_files { store::stored_files(tx, a.id).await? } else { Vec::new() };
    let lookup = |aid: &str, field: &str| {
        files.iter().find(|f| f.public_id == aid && f.field == field).map(|f| f.media_type.clone())
    };
    let mut answers = a.answers.clone();
    if validate {
        let errors = forms::validate(&p.def, None, &mut answers, &lookup);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
    }
    // Attachments no longer referenced by any answer are not part of the submission.
    let hashes: Vec<String> = p
        .def
        .fields()
        .filter(|f| matches!(f.kind, FieldKind::File { .. }))
        .filter_map(|f| answers.get(&f.id).and_then(Value::as_str))
        .filter_map(|aid| files.iter().find(|f| f.public_id == aid).map(|f| f.sha256.clone()))
        .collect();
    Ok((Value::Object(answers), hashes))
}

/// One call for systems: creates and submits an application with complete answers. An
/// `Idempotency-Key` makes a retried request return the first result.
pub async fn submit_new(
    db: &Db,
    base_url: &str,
    resident: &Resident,
    p: &Arc<Procedure>,
    kind: ApplicantKind,
    answers: Answers,
    idempotency_key: Option<&str>,
) -> Result<(i64, Submitted)> {
    accepts(p, kind)?;
    if let Some(k) = idempotency_key {
        if k.is_empty() || k.len() > 100 {
            return Err(AppError::BadRequest(detail!("detail.applications.idempotency_key_1_100")));
        }
    }
    let checked = check_new(p, answers)?;
    let (base_url, resident, p) = (base_url.to_string(), resident.clone(), p.clone());
    let key = idempotency_key.map(str::to_string);
    let key_again = key.clone();
    let resident_id = resident.id;
    let keys = db.keys();
    let outcome = db
        .transact(move |conn| {
            Box::pin(async move {
                let now = now_ms();
                let (id, head) = store::insert_new(conn, &p, resident.id, kind, key, now).await?;
                let a = new_application(id, now, &p, &resident, kind, checked);
                let to = machine::transition(a.facts(&p), Actor::Applicant, &Action::Submit)?;
                let result =
                    finish_submission(conn, &keys, &base_url, "ja", &resident, &a, &p, Action::Submit, to, Some(head))
                        .await?;
                Ok((id, result))
            })
        })
        .await;
    match outcome {
        // A retry of a request already made (same Idempotency-Key) fails on the unique key
        // and changes nothing; it gets the first answer.
        Err(AppError::Db(e)) if is_unique_violation(&e) => match repeated(db, resident_id, key_again.as_deref()).await?
        {
            Some(found) => Ok(found),
            None => Err(AppError::Db(e)),
        },
        other => other,
    }
}

/// The answers of a new application checked before taking the write lock (a rejected request
/// costs no write): complete, without attachments, and for a fee not due before submission.
fn check_new(p: &Procedure, answers: Answers) -> Result<Answers> {
    let mut checked = answers;
    let no_files = |_: &str, _: &str| None;
    let errors = forms::validate(&p.def, None, &mut checked, &no_files);
    let has_file_fields = p.def.fields().any(|f| matches!(f.kind, FieldKind::File { .. }));
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if has_file_fields
        && p.def.fields().any(|f| matches!(f.kind, FieldKind::File { .. }) && checked.contains_key(&f.id))
    {
        return Err(AppError::BadRequest(detail!("detail.applications.attachments_need_draft_create")));
    }
    if p.def.fee.rule().is_some_and(|(_, t)| t == kencho_core::payment::fee::Timing::BeforeSubmission) {
        return Err(AppError::Refused("payment_required", detail!("detail.applications.procedure_s_fee_paid")));
    }
    Ok(checked)
}

/// The draft just inserted: everything about it is known here, so it is not read back.
fn new_application(
    id: i64,
    now: i64,
    p: &Procedure,
    resident: &Resident,
    kind: ApplicantKind,
    answers: Answers,
) -> Application {
    Application {
        id,
        tenant_id: p.tenant_id,
        division_id: p.division_id,
        procedure_id: p.id,
        resident_id: resident.id,
        resident_name: resident.name.clone(),
        resident_email: resident.email.clone(),
        applicant_kind: kind,
        status: Status::Draft,
        was_accepted: false,
        revision: 1,
        answers,
        receipt_number: None,
        content_hash: None,
        created_at: now,
        updated_at: now,
        submitted_at: None,
        due_at: None,
        decided_at: None,
        paused_at: None,
    }
}

/// The earlier result of a request with this Idempotency-Key, if there was one.
async fn repeated(db: &Db, resident_id: i64, key: Option<&str>) -> Result<Option<(i64, Submitted)>> {
    let Some(key) = key else { return Ok(None) };
    let Some((id, receipt_number, content_hash, status)) = store::by_idempotency_key(db, resident_id, key).await?
    else {
        return Ok(None);
    };
    match (receipt_number, content_hash) {
        (Some(receipt_number), Some(content_hash)) => {
            Ok(Some((id, Submitted { receipt_number, content_hash, status, new: false, resubmitted: false })))
        }
        _ => Err(AppError::Conflict(detail!("detail.applications.request_with_idempotency_key"))),
    }
}

/// The applicant withdraws (取下げ), as the procedure allows.
pub async fn withdraw<L: Links>(
    db: &Db,
    links: L,
    base_url: &str,
    lang: &str,
    resident: &Resident,
    id: i64,
) -> Result<Status> {
    let (db2, base_url, lang, resident) = (db.clone(), base_url.to_string(), lang.to_string(), resident.clone());
    db.transact(move |conn| {
        Box::pin(async move {
            lock_row(conn, id).await?;
            let a = load(conn, &db2.keys(), id).await?;
            if a.resident_id != resident.id {
                return Err(AppError::NotFound);
            }
            let p = procedure_version(&db2, a.procedure_id).await?;
            let to = machine::transition(a.facts(&p), Actor::Applicant, &Action::Withdraw)?;
            let actor = format!("resident:{}", resident.id);
            let by = (actor.as_str(), resident.name.as_str());
            apply(conn, links, &base_url, &lang, (&a, &p), by, &Action::Withdraw, to).await?;
            Ok(to)
        })
    })
    .await
}

/// Refuses what only the applicant does (提出, 再提出, 取下げ) as a staff action.
fn staff_may_take(action: &Action) -> Result<()> {
    if matches!(action, Action::Submit | Action::Resubmit | Action::Withdraw) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// A staff action in the caller's transaction: 受付, 補正依頼, 却下, or the one-step decision
/// (承認 / 不承認). Returns the application as it was before, and its new status; the decision
/// notice that goes with it is `crate::flows::decision`'s.
pub async fn staff_act<L: Links>(
    conn: &mut AnyConnection,
    db: &Db,
    links: L,
    base_url: &str,
    staff: &Staff,
    id: i64,
    action: &Action,
) -> Result<(Application, Status)> {
    staff_may_take(action)?;
    lock_row(conn, id).await?;
    let a = load(conn, &db.keys(), id).await?;
    if !staff_may_see(staff, &a) {
        return Err(AppError::NotFound);
    }
    let p = procedure_version(db, a.procedure_id).await?;
    if matches!(action, Action::Decide { .. }) && p.def.matter.is_some() {
        // This procedure's decisions follow the 専決 table through a route (電子決裁).
        return Err(AppError::Refused(
            "route_required",
            detail!("detail.applications.procedure_decided_through_approval"),
        ));
    }
    let to = machine::transition(a.facts(&p), Actor::Staff(staff.role), action)?;
    let actor = format!("staff:{}", staff.id);
    apply(conn, links, base_url, "ja", (&a, &p), (&actor, &staff.name), action, to).await?;
    Ok((a, to))
}

/// 施行 of a decided 起案 on an application: the decision the route made reaches the
/// application (status, history, mail) in the caller's transaction. The route, not the staff
/// member's role, is the authority here.
#[allow(clippy::too_many_arguments)] // the decision, its number and where it is written
pub async fn decide_by_route<L: Links>(
    db: &Db,
    links: L,
    conn: &mut AnyConnection,
    base_url: &str,
    staff: &Staff,
    id: i64,
    approve: bool,
    notice: &str,
    number: Option<&str>,
) -> Result<Status> {
    lock_row(conn, id).await?;
    let a = load(conn, &db.keys(), id).await?;
    if a.tenant_id != staff.tenant_id {
        return Err(AppError::NotFound);
    }
    // Versions never change, so the cached one serves (reads use their own pool).
    let p = procedure_version(db, a.procedure_id).await?;
    let notice = match number {
        Some(n) => {
            crate::i18n::tf(crate::i18n::OFFICE, "application.notice_with_number", &[("notice", notice), ("number", n)])
        }
        None => notice.to_string(),
    };
    let action = Action::Decide { approve, notice };
    let to = machine::transition(a.facts(&p), Actor::Staff(kencho_core::application::Role::Admin), &action)?;
    let actor = format!("staff:{}", staff.id);
    apply(conn, links, base_url, "ja", (&a, &p), (&actor, &staff.name), &action, to).await?;
    Ok(to)
}

#[allow(clippy::too_many_arguments)]
async fn apply<L: Links>(
    tx: &mut AnyConnection,
    links: L,
    base_url: &str,
    lang: &str,
    (a, p): (&Application, &Procedure),
    (actor, actor_name): (&str, &str),
    action: &Action,
    to: Status,
) -> Result<()> {
    let now = now_ms();
    let accepted = a.was_accepted || to == Status::Accepted;
    let decided = if to.is_final() { Some(now) } else { None };
    let mut batch = Batch::new();
    store::push_status(&mut batch, a, to, accepted, decided, now);
    store::push_event(&mut batch, a, (actor, actor_name), action, to);
    audit::append_batched(
        tx,
        &mut batch,
        a.tenant_id,
        actor,
        &format!("application.{}", action.name()),
        &format!("application:{}", a.id),
        serde_json::json!({"from": a.status.as_str(), "to": to.as_str(), "message": action.message()}),
    )
    .await?;
    if to.is_final() {
        links.keep_record(&mut batch, a, p, now);
    }
    let m = mail_for(base_url, lang, a, p);
    let (subject, body) = notify::status_changed(
        &m,
        &crate::i18n::words::action(lang, action),
        &crate::i18n::words::status(lang, to),
        action.message(),
    );
    mail::enqueue_batched(
        &mut batch,
        &format!("app:{}:{}:{}", a.id, action.name(), a.revision),
        &a.resident_email,
        &subject,
        &body,
    );
    batch.run(tx).await
}
