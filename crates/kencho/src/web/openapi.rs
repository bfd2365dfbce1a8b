//! Serves the OpenAPI 3.1 document of `/api/v1`.

use axum::Json;
use utoipa::OpenApi;

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(super::api::ApiDoc::openapi())
}

/// Adds the answers every operation can give but few declare: the gate's and the extractors'
/// refusals, each the JSON error body with a stable `code`. Signed-in operations can answer 401
/// and 403; operations on an id or naming records in their body 404; operations that take
/// parameters or a body 400; a body 413 and 415; every operation 408 (too slow).
pub struct StandardErrors;

impl utoipa::Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |text: &str| {
            ResponseBuilder::new()
                .description(text)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let path_params = path.contains('{');
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = op.request_body.is_some();
                let has_params = path_params
                    || op.parameters.as_ref().is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Path));
                let has_query =
                    op.parameters.as_ref().is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
                let mut add = |code: &str, text: &str| {
                    op.responses.responses.entry(code.to_string()).or_insert_with(|| error(text).into());
                };
                if secured {
                    add("401", "Not signed in, or the token expired or was revoked (`unauthenticated`)");
                    add("403", "Signed in, but this role, tenant table or token scope does not allow it (`forbidden`, `not_permitted`, `token_scope`)");
                }
                if has_params || has_body {
                    // A body names records too (a tenant, a procedure, a device).
                    add("404", "No such record, or not one this caller may see (`not_found`)");
                }
                if has_body || has_params || has_query {
                    add("400", "The request is malformed (`bad_request`)");
                }
                if has_body {
                    add("413", "The body is larger than this route takes (`too_large`)");
                    add("415", "The body is not of a type this route takes (`unsupported_media_type`)");
                }
                add("408", "The request took too long to arrive or to answer (`timeout`)");
            }
        }
    }
}
