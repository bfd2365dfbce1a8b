//! Drafts: started against the procedure's current version, saved page by page with the
//! revision the form was made from, validated as the resident goes.

use kencho_core::application::Status;
use kencho_core::forms::{self, Answers, FieldError};
use kencho_core::procedure::ApplicantKind;
use serde_json::Value;

use super::model::seal_answers;
use super::{access::for_resident, files::attachments, procedure_version, store};
use crate::actor::Resident;
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};
use crate::procedures::Procedure;

/// The procedure accepts applications made as `kind`.
pub(super) fn accepts(p: &Procedure, kind: ApplicantKind) -> Result<()> {
    if !p.def.applicants.contains(&kind) {
        return Err(AppError::BadRequest(detail!("detail.applications.procedure_does_accept_that")));
    }
    Ok(())
}

/// Starts a draft against the procedure's current version.
pub async fn create_draft(db: &Db, resident: &Resident, p: &Procedure, kind: ApplicantKind) -> Result<i64> {
    accepts(p, kind)?;
    let owner = store::Owner {
        tenant_id: p.tenant_id,
        division_id: p.division_id,
        procedure_id: p.id,
        resident_id: resident.id,
    };
    db.transact(move |conn| Box::pin(async move { store::insert_draft(conn, owner, kind).await })).await
}

/// Saves answers to a draft (or an application under correction). `revision` must be the one
/// the form was rendered from: an older one means the form is stale and nothing is saved.
/// Returns the page's validation errors (the answers are saved either way, as a draft).
pub async fn save_answers(
    db: &Db,
    resident: &Resident,
    id: i64,
    revision: i64,
    page: Option<usize>,
    update: impl FnOnce(&Procedure, &mut Answers),
) -> Result<(i64, Vec<FieldError>)> {
    let a = for_resident(db, resident, id).await?;
    if !matches!(a.status, Status::Draft | Status::CorrectionRequested) {
        return Err(AppError::Conflict(detail!("detail.applications.application_no_longer_edited")));
    }
    if a.revision != revision {
        return Err(AppError::StaleForm);
    }
    let p = procedure_version(db, a.procedure_id).await?;
    let mut answers = a.answers.clone();
    update(&p, &mut answers);
    let files = attachments(db, id).await?;
    let lookup =
        |aid: &str, field: &str| files.iter().find(|f| f.id == aid && f.field == field).map(|f| f.media_type.clone());
    let errors = forms::validate(&p.def, page, &mut answers, &lookup);
    let json = seal_answers(&db.keys(), id, &Value::Object(answers))?;
    // Optimistic concurrency: the write only lands on the revision the form was made from.
    db.transact(move |conn| {
        Box::pin(async move {
            match store::update_answers(conn, id, revision, json, now_ms()).await? {
                true => Ok(()),
                false => Err(AppError::StaleForm),
            }
        })
    })
    .await?;
    Ok((revision + 1, errors))
}
