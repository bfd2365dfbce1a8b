//! Attachments: type sniffing, content-addressed storage under the data directory, and
//! their rows.

use super::*;
use crate::blobs::{sniff, store_file};

pub async fn attachments(db: &Db, id: i64) -> Result<Vec<Attachment>> {
    let rows = sqlx::query(
        "SELECT public_id, field, filename, media_type, size, sha256, created_at FROM attachments WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attachment {
                id: r.try_get("public_id")?,
                field: r.try_get("field")?,
                filename: r.try_get("filename")?,
                media_type: r.try_get("media_type")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
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
        return Err(AppError::Conflict("the application can no longer be edited / この申請は編集できません".into()));
    }
    let p = procedure_version(db, a.procedure_id).await?;
    let Some(f) = p.def.field(field) else {
        return Err(AppError::BadRequest(format!("no file field \"{field}\"")));
    };
    let FieldKind::File { types, max_bytes } = &f.kind else {
        return Err(AppError::BadRequest(format!("\"{field}\" is not a file field")));
    };
    if bytes.is_empty() {
        return Err(AppError::BadRequest("the file is empty / ファイルが空です".into()));
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
    let (pid, field, size) = (public_id.clone(), field.to_string(), bytes.len() as i64);
    let (media_type, old_rev) = (media_type.to_string(), a.revision);
    db.transact(move |conn| {
        Box::pin(async move {
            let now = now_ms();
            let n = sqlx::query(
                "UPDATE applications SET answers = $1, revision = revision + 1, updated_at = $2 \
                 WHERE id = $3 AND revision = $4 AND status IN ('draft', 'correction_requested')",
            )
            .bind(json)
            .bind(now)
            .bind(id)
            .bind(old_rev)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n != 1 {
                return Err(AppError::StaleForm);
            }
            sqlx::query(
                "INSERT INTO attachments (public_id, application_id, field, filename, media_type, size, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(pid)
            .bind(id)
            .bind(field)
            .bind(filename)
            .bind(media_type)
            .bind(size)
            .bind(sha)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok(())
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
