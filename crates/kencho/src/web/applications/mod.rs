//! Applications on the web: the resident's catalogue (catalogue.rs: the home page with search,
//! a procedure's page, starting an application), the resident's applications page by page
//! (resident.rs), the staff's inbox, case page, actions and export (staff.rs), and the
//! `/procedures` and `/applications` API with the staff's (api.rs).

use axum::routing::{get, post, put};
use axum::Router;
use kencho_core::procedure::ApplicantKind;

use super::AppState;
use crate::error::{AppError, Result};

pub mod api;
mod catalogue;
mod resident;
mod staff;

pub(super) use resident::mailbox;

/// Who applies, as the form or the JSON body names it: `self` (also when absent or empty) or
/// `agent`; any other text is refused here.
fn applicant_kind(name: Option<&str>) -> Result<ApplicantKind> {
    match name {
        None | Some("") => Ok(ApplicantKind::Myself),
        Some(s) => ApplicantKind::parse(s)
            .ok_or_else(|| AppError::BadRequest(detail!("detail.applications.applicant_kind_self_agent"))),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(catalogue::home))
        .route("/procedures/{tenant}/{code}", get(catalogue::procedure_page))
        .route("/procedures/{tenant}/{code}/start", post(catalogue::start))
        .route("/applications", get(resident::my_applications))
        .route("/applications/{id}", get(resident::application_page))
        .route("/applications/{id}/pages/{n}", get(resident::form_page).post(resident::save_page))
        .route("/applications/{id}/confirm", get(resident::confirm_page))
        .route("/applications/{id}/submit", post(resident::submit))
        .route("/applications/{id}/withdraw", post(resident::withdraw))
        .route("/applications/{id}/attachments/{aid}", get(resident::download))
        .route("/staff", get(staff::inbox))
        .route("/staff/applications/{id}", get(staff::case_page))
        .route("/staff/applications/{id}/action", post(staff::action))
        .route("/staff/export.csv", get(staff::export_csv))
        .route("/staff/export.json", get(staff::export_json))
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/procedures", get(api::list_procedures))
        .route("/procedures/{tenant}/{code}", get(api::get_procedure))
        .route("/applications", get(api::my_applications).post(api::create_application))
        .route("/applications/{id}", get(api::get_application))
        .route("/applications/{id}/status", get(api::get_status))
        .route("/applications/{id}/answers", put(api::save_answers))
        .route("/applications/{id}/attachments", post(api::upload_attachment))
        .route("/applications/{id}/attachments/{aid}", get(api::download_attachment))
        .route("/applications/{id}/submit", post(api::submit))
        .route("/applications/{id}/withdraw", post(api::withdraw))
        .route("/staff/applications", get(api::inbox))
        .route("/staff/applications/{id}", get(api::staff_get_application))
        .route("/staff/applications/{id}/actions", post(api::staff_action))
        .route("/staff/export", get(api::export))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_applicant_kind_is_self_unless_it_says_otherwise() {
        kencho_core::name::check_names::<ApplicantKind>();
        assert_eq!(applicant_kind(None).ok(), Some(ApplicantKind::Myself));
        assert_eq!(applicant_kind(Some("")).ok(), Some(ApplicantKind::Myself));
        assert_eq!(applicant_kind(Some("agent")).ok(), Some(ApplicantKind::Agent));
        assert!(matches!(applicant_kind(Some("Agent")), Err(AppError::BadRequest(_))));
    }
}
