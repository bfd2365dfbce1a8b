//! The staff page's data layers (/staff/evacuation): loading public data files as a new version of a
//! layer, several at once where the publisher ships a layer as several (the Address Base
//! Registry's mt_town and mt_town_pos), and putting an earlier version back in use.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};

use super::staff_outcome;
use crate::error::AppError;
use crate::evacuation::layers::{self, LayerKind};
use crate::i18n::{t, tf};
use crate::web::{form_get, staff_form, AppState, Ctx, InLang, PageResult};

pub(super) async fn upload_layer(State(st): State<AppState>, ctx: Ctx, mp: Multipart) -> PageResult {
    let lang = ctx.lang().to_string();
    // Only an administrator's upload is read at all (it may be hundreds of MB).
    let s = ctx.admin().lang(&lang)?.clone();
    let (fields, files) = crate::web::read_uploads(mp).await.lang(&lang)?;
    ctx.check_csrf(form_get(&fields, "csrf")).lang(&lang)?;
    let result = async {
        let kind = form_get(&fields, "kind")
            .and_then(LayerKind::parse)
            .ok_or_else(|| AppError::BadRequest(detail!("evacuation.err_kind")))?;
        if files.is_empty() {
            return Err(AppError::BadRequest(detail!("evacuation.err_file")));
        }
        let v = layers::load(&st.db, s.tenant_id, kind, files, &format!("staff:{}", s.id)).await?;
        st.atlases.invalidate(s.tenant_id);
        Ok(tf(
            &lang,
            "evacuation.layer_loaded",
            &[("file", &v.file_name), ("version", &v.version.to_string()), ("items", &v.items.to_string())],
        ))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}

pub(super) async fn activate_layer(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    body: Bytes,
) -> PageResult {
    let lang = ctx.lang().to_string();
    let (_, s) = staff_form(&ctx, &body, true)?;
    let result = async {
        layers::activate(&st.db, s.tenant_id, id, &format!("staff:{}", s.id)).await?;
        st.atlases.invalidate(s.tenant_id);
        Ok(t(&lang, "evacuation.layer_activated"))
    }
    .await;
    staff_outcome(&st, &ctx, result).await
}
