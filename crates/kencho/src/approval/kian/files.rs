//! Files attached to a 起案: added only while it is on its route, read by those who may see it.

use super::*;

/// A file attached to a 起案.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KianFile {
    pub public_id: String,
    pub filename: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub added_by: String,
    pub added_at: i64,
}

const FILE_COLS: &str =
    "SELECT f.public_id, f.filename, f.media_type, f.size, f.sha256, s.name AS added_by_name, f.added_at \
    FROM kian_files f JOIN staff s ON s.id = f.added_by";

fn file_of(r: &sqlx::any::AnyRow) -> Result<KianFile> {
    Ok(KianFile {
        public_id: r.try_get("public_id")?,
        filename: r.try_get("filename")?,
        media_type: r.try_get("media_type")?,
        size: r.try_get("size")?,
        sha256: r.try_get("sha256")?,
        added_by: r.try_get("added_by_name")?,
        added_at: r.try_get("added_at")?,
    })
}

pub async fn files(db: &Db, id: i64) -> Result<Vec<KianFile>> {
    let rows =
        sqlx::query(&format!("{FILE_COLS} WHERE f.kian_id = $1 ORDER BY f.id")).bind(id).fetch_all(&db.read).await?;
    rows.iter().map(file_of).collect()
}

/// The largest attachment accepted.
pub const MAX_FILE: usize = 10 * 1024 * 1024;

/// Attaches a file. Files are added while the 起案 is alive (drafting or on its route) by
/// anyone who may see it; they are stored by hash and never changed or deleted afterwards.
pub async fn attach(
    db: &Db,
    cache: &SetupCache,
    data_dir: &std::path::Path,
    staff: &Staff,
    id: i64,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<String> {
    if bytes.is_empty() {
        return Err(AppError::BadRequest("the file is empty".into()));
    }
    if bytes.len() > MAX_FILE {
        return Err(AppError::TooLarge);
    }
    let media = crate::blobs::sniff(&bytes)
        .ok_or_else(|| AppError::UnsupportedMedia("only PDF, PNG, JPEG or plain text files".into()))?;
    let name: String =
        filename.rsplit(['/', '\\']).next().unwrap_or("file").chars().filter(|c| !c.is_control()).take(120).collect();
    if name.trim().is_empty() {
        return Err(AppError::BadRequest("the file needs a name".into()));
    }
    let setup = cache.get(db, staff.tenant_id).await?;
    let k = get(db, &setup, staff, id).await?;
    if !k.state.is_open() {
        return Err(AppError::Refused("wrong_state", "files can only be added while the 起案 is on its route".into()));
    }
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    // Written (and synced) before the row that points at it is committed.
    crate::blobs::store_file(data_dir, &sha, &bytes).await?;
    let public_id = crate::crypto::random_token()[..16].to_string();
    let (staff, pid, size) = (staff.clone(), public_id.clone(), i64::try_from(bytes.len()).unwrap_or(i64::MAX));
    db.transact(move |conn| {
        Box::pin(async move {
            let k = lock(conn, id).await?;
            if !k.state.is_open() {
                return Err(AppError::Refused(
                    "wrong_state",
                    "files can only be added while the 起案 is on its route".into(),
                ));
            }
            sqlx::query(
                "INSERT INTO kian_files (public_id, kian_id, filename, media_type, size, sha256, added_by, added_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&pid)
            .bind(id)
            .bind(&name)
            .bind(media)
            .bind(size)
            .bind(&sha)
            .bind(staff.id)
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
            audit::append(
                conn,
                k.tenant_id,
                &format!("staff:{}", staff.id),
                "kian.file_added",
                &format!("kian:{id}"),
                serde_json::json!({"file": name, "sha256": sha, "size": size}),
            )
            .await?;
            Ok(())
        })
    })
    .await?;
    Ok(public_id)
}

/// A file of a 起案, for download by someone who may see it.
pub async fn file(db: &Db, setup: &Setup, staff: &Staff, id: i64, public_id: &str) -> Result<KianFile> {
    get(db, setup, staff, id).await?;
    let row = sqlx::query(&format!("{FILE_COLS} WHERE f.kian_id = $1 AND f.public_id = $2"))
        .bind(id)
        .bind(public_id)
        .fetch_optional(&db.read)
        .await?
        .ok_or(AppError::NotFound)?;
    file_of(&row)
}
