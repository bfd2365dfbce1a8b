//! Attachments: type sniffing, content-addressed storage under the data directory, and
//! their rows.

use std::path::Path;

use kencho_core::application::Status;
use kencho_core::procedure::FieldKind;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{seal_answers, Attachment};
use super::{for_resident, procedure_version, store};
use crate::actor::Resident;
use crate::blobs::{sniff, store_file};
use crate::db::{now_ms, Db};
use crate::error::{AppError, Result};

/// The application's attachments, in the order they were attached.
pub async fn attachments(db: &Db, id: i64) -> Result<Vec<Attachment>> {
    store::attachments(db, id).await
}

fn type_agrees(declared: &str, sniffed: Option<&str>) -> bool {
    match (declared, sniffed) {
        (d, Some(s)) if d == s => true,
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", Some("application/zip")) => true,
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Some("application/zip")) => true,
        ("text/csv", Some("text/plain")) => true,
        _ => false,
    }
}

/// Attaches a file to a file field of a draft (or an application under correction),
/// replacing what that field held. Returns the attachment id and the new revision.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    db: &Db,
    data_dir: &Path,
    resident: &Resident,
    id: i64,
    revision: Option<i64>,
    field: &str,
    filename: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<(String, i64)> {
    let a = for_resident(db, resident, id).await?;
    if !matches!(a.status, Status::Draft | Status::CorrectionRequested) {
        return Err(AppError::Conflict(detail!("detail.applications.application_no_longer_edited")));
    }
    let p = procedure_version(db, a.procedure_id).await?;
    let Some(f) = p.def.field(field) else {
        return Err(AppError::BadRequest(detail!("detail.applications.no_file_field", field = field)));
    };
    let FieldKind::File { types, max_bytes } = &f.kind else {
        return Err(AppError::BadRequest(detail!("detail.applications.file_field", field = field)));
    };
    if bytes.is_empty() {
        return Err(AppError::BadRequest(detail!("detail.applications.file_empty")));
    }
    if bytes.len() as u64 > *max_bytes {
        return Err(AppError::TooLarge);
    }
    if !types.iter().any(|t| t == media_type) || !type_agrees(media_type, sniff(bytes)) {
        return Err(AppError::UnsupportedMedia(media_type.to_string()));
    }
    let filename = sanitize_filename(filename);
    let sha = hex::encode(Sha256::digest(bytes));
    store_file(data_dir, &sha, bytes).await?;
    let public_id = crate::crypto::random_token()[..16].to_string();
    if revision.is_some_and(|r| r != a.revision) {
        return Err(AppError::StaleForm);
    }
    let mut answers = a.answers.clone();
    answers.insert(field.to_string(), Value::String(public_id.clone()));
    let json = seal_answers(&db.keys(), id, &Value::Object(answers))?;
    let old_rev = a.revision;
    let row = Attachment {
        id: public_id.clone(),
        field: field.to_string(),
        filename,
        media_type: media_type.to_string(),
        size: bytes.len() as i64,
        sha256: sha,
        created_at: now_ms(),
    };
    db.transact(move |conn| {
        Box::pin(async move {
            if !store::update_answers(conn, id, old_rev, json, row.created_at).await? {
                return Err(AppError::StaleForm);
            }
            store::insert_attachment(conn, id, &row).await
        })
    })
    .await?;
    Ok((public_id, old_rev + 1))
}

fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("file");
    let clean: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>')).take(120).collect();
    if clean.trim().is_empty() {
        "file".into()
    } else {
        clean
    }
}

/// An attachment's stored hash and metadata, if the caller may see the application.
pub async fn attachment(db: &Db, app_id: i64, public_id: &str) -> Result<Attachment> {
    attachments(db, app_id).await?.into_iter().find(|a| a.id == public_id).ok_or(AppError::NotFound)
}
