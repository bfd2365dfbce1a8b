//! IoT alerts on the web: the webhook for network servers, registration for administrators
//! ([`devices`]), the alarm list for staff and the acknowledgement link in every alarm mail
//! ([`alarms`], where a hunter also records the capture: [`captures`]); capture permits and
//! their reports are [`permits`]; the API is [`api`].

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

mod alarms;
pub mod api;
mod captures;
mod devices;
pub(super) mod permits;

/// Pages (ack link, staff alarm list; the administrator's devices, people and permits).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/iot/ack/{token}", get(alarms::ack_page).post(alarms::ack))
        .route("/iot/ack/{token}/capture", post(captures::capture))
        .route("/staff/iot", get(alarms::staff_alarms))
        .route("/staff/iot/devices", get(devices::devices_page).post(devices::devices_csv))
        .route("/staff/iot/settings", post(devices::save_settings))
        .route("/staff/iot/applications", post(devices::bind_application_page))
        .route("/staff/iot/applications/{id}/remove", post(devices::unbind_application_page))
        .route("/staff/iot/people", post(devices::add_person_page))
        .route("/staff/iot/devices/{id}/retire", post(devices::retire_device_page))
        .route("/staff/iot/people/{id}/end", post(devices::end_person_page))
        .route("/staff/iot/people/{id}", get(devices::person_page))
        .merge(captures::routes())
        .merge(permits::routes())
}

/// API routes (nested under /api/v1).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/iot/uplink", post(api::webhook))
        .route("/admin/iot/devices", get(api::list_devices).post(api::add_devices))
        .route("/admin/iot/devices/{id}", axum::routing::delete(api::retire_device))
        .route("/admin/iot/applications", get(api::list_applications).post(api::bind_application))
        .route("/admin/iot/applications/{id}", axum::routing::delete(api::unbind_application))
        .route("/admin/iot/people", post(api::add_person))
        .route("/admin/iot/people/{id}/end", post(api::end_person))
        .route("/staff/iot/alarms", get(api::list_alarms))
        .route("/staff/iot/permits", get(api::api_list).post(api::api_add))
        .route("/staff/iot/permits/{id}/devices", post(api::api_assign))
        .route("/staff/iot/permits/{id}/report", get(api::api_report))
}
