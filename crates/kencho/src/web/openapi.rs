//! Serves the OpenAPI 3.1 document of `/api/v1`.

use axum::Json;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
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

#[derive(Serialize, ToSchema)]
pub struct ApiProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

// The id of what a call made, answered with 201 (its schema carries no description, as before
// it was shared).
#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// The error body every failing API call returns.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// One of `error::CODES` (the schema lists them).
    #[schema(schema_with = error_code_schema)]
    pub code: String,
    pub message: String,
    pub errors: Option<Vec<ApiProblem>>,
}

/// `ErrorBody.code`: every code kencho answers with, from `error::CODES`.
fn error_code_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Stable code, the same in every language; `message` is its text (`error.<code>` in kencho's \
             locales) in English.",
        ))
        .enum_values(Some(crate::error::CODES.iter().copied()))
        .build()
}

/// The OpenAPI 3.1 document; `openapi::tests` checks it lists exactly the routes above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "kencho API", description = "The JSON API of kencho, the digital prefectural office. Authenticate with `Authorization: Bearer <token>`."),
    paths(super::accounts::api::signup, super::accounts::api::verify, super::accounts::api::login, super::accounts::api::logout,
          super::accounts::api::change_password, super::accounts::api::forgot_password, super::accounts::api::reset_password,
          super::applications::api::list_procedures, super::applications::api::get_procedure, super::applications::api::create_application,
          super::applications::api::my_applications, super::applications::api::get_application, super::applications::api::get_status,
          super::applications::api::save_answers, super::applications::api::upload_attachment, super::applications::api::download_attachment,
          super::applications::api::submit, super::applications::api::withdraw,
          super::applications::api::inbox, super::applications::api::staff_get_application, super::applications::api::staff_action, super::applications::api::export,
          super::admin::api::import_procedure, super::admin::api::list_tokens, super::admin::api::create_token,
          super::admin::api::list_staff, super::admin::api::invite_staff, super::admin::api::change_staff, super::admin::api::deactivate_staff,
          super::evacuation::api::hazards, super::evacuation::api::preview_plan, super::evacuation::api::list_layers,
          super::evacuation::api::load_layer, super::evacuation::api::read_telegram, super::evacuation::api::list_alerts,
          super::evacuation::api::issue_alert, super::evacuation::api::approve_alert, super::evacuation::api::cancel_alert,
          super::iot::api::webhook, super::iot::api::list_applications, super::iot::api::bind_application, super::iot::api::unbind_application, super::iot::api::list_devices, super::iot::api::add_devices, super::iot::api::retire_device, super::iot::api::add_person, super::iot::api::end_person, super::iot::api::list_alarms,
          super::iot::api::api_list, super::iot::api::api_add, super::iot::api::api_assign, super::iot::api::api_report,
          super::approval::api::api_load_setup, super::approval::api::api_create, super::approval::api::api_inbox, super::approval::api::api_get,
          super::approval::api::api_act, super::approval::api::api_route, super::approval::api::api_execute, super::approval::api::api_absence,
          super::approval::api::api_figures, super::approval::api::api_disposal_list, super::approval::api::api_dispose,
          super::approval::api::api_holds, super::approval::api::api_place_hold, super::approval::api::api_lift_hold,
          super::documents::api::api_verify, super::documents::api::api_keys, super::documents::api::api_rotate,
          super::documents::api::api_get, super::documents::api::api_put, super::documents::api::api_delete,
          super::payments::api::api_pay, super::payments::api::api_summary, super::payments::api::sandbox_webhook, super::payments::api::api_set_fee,
          super::payments::api::api_refund, super::payments::api::api_reconcile, super::payments::api::api_totals,
          super::payments::api::stripe_webhook, super::payments::api::api_get_settings, super::payments::api::api_put_settings,
          super::payments::api::api_cash, super::payments::api::api_get_schedule, super::payments::api::api_put_schedule,
          super::payments::api::api_put_agent, super::payments::api::api_agents, super::payments::api::api_review,
          super::payments::api::api_fiscal, super::audit::api::api_proof),
    modifiers(&BearerAuth, &StandardErrors),
    tags((name = "auth"), (name = "procedures"), (name = "applications"), (name = "staff"), (name = "admin"), (name = "evacuation"), (name = "iot"), (name = "approval"), (name = "documents"), (name = "payments"), (name = "audit"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
