//! Serves the OpenAPI 3.1 document of `/api/v1`.

use axum::Json;
use utoipa::OpenApi;

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(super::api::ApiDoc::openapi())
}
