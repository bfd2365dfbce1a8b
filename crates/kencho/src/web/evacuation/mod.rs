//! マイ避難 pages: the plan journey for residents (no account needed until saving), the print
//! sheet, subscriptions; and for staff, alerts, data layers and 個別避難計画.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post, put};
use axum::Router;
use kencho_core::evacuation::geo::Point;
use kencho_core::evacuation::plan::{resolve, Answers, Destination, Resolved, MAX_MEMBERS};
use kencho_core::evacuation::towns::{match_address, nearest};
use kencho_core::evacuation::{Hazards, Member, Needs};

use super::{
    fmt_time, form_get, parse_form, read_upload, render, render_status, staff_form, AppState, Ctx, InLang, Layout,
    PageResult,
};
use crate::error::AppError;
use crate::evacuation::alerts::{self, Actor, Alert, Request};
use crate::evacuation::layers::{self, Atlas, LayerKind, LayerVersion};
use crate::evacuation::plans::{self, PlanKind, PlanListItem, StoredPlan, SubscriberRole, Subscription};
use crate::evacuation::words;
use crate::i18n::{t, tf};
use crate::tenants;
use kencho_core::security::Action;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/evacuation", get(start_page))
        .route("/evacuation/mine", get(my_plans))
        .route("/evacuation/{tenant}/start", post(start))
        .route("/evacuation/p/{token}", get(plan_page))
        .route("/evacuation/p/{token}/where", get(where_form).post(where_save))
        .route("/evacuation/p/{token}/home", get(home_form).post(home_save))
        .route("/evacuation/p/{token}/people", get(people_form).post(people_save))
        .route("/evacuation/p/{token}/choices", post(choices_save))
        .route("/evacuation/p/{token}/print", get(print_page))
        .route("/evacuation/p/{token}/save", post(save))
        .route("/evacuation/p/{token}/subscribe", post(subscribe))
        .route("/evacuation/unsubscribe/{token}", get(unsubscribe_form).post(unsubscribe))
        .route("/staff/evacuation", get(staff_page))
        .route("/staff/evacuation/alerts", post(issue_alert))
        .route("/staff/evacuation/alerts/{id}/approve", post(approve_alert))
        .route("/staff/evacuation/alerts/{id}/cancel", post(cancel_alert))
        .route(
            "/staff/evacuation/layers",
            post(evacuation_layers::upload_layer).layer(axum::extract::DefaultBodyLimit::max(LAYER_LIMIT)),
        )
        .route("/staff/evacuation/layers/{id}/activate", post(evacuation_layers::activate_layer))
        .route("/staff/evacuation/jma", post(upload_jma))
        .route("/staff/evacuation/individual/{id}", get(person_page))
        .route("/staff/evacuation/individual/{id}/details", post(person_details))
        .route("/staff/evacuation/individual/{id}/consent", post(person_consent))
        .route("/staff/evacuation/individual/{id}/consent/withdraw", post(person_withdraw))
        .route("/staff/evacuation/individual/{id}/supporters", post(add_supporter))
        .route("/staff/evacuation/individual/{id}/supporters/{sid}/remove", post(remove_supporter))
}

/// Only the layer upload accepts bodies beyond the usual limit (`evacuation::upload`).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/evacuation/{tenant}/hazards", get(api::hazards))
        .route("/evacuation/{tenant}/plan", post(api::preview_plan))
        .route("/admin/evacuation/layers", get(api::list_layers))
        .route(
            "/admin/evacuation/layers/{kind}",
            put(api::load_layer).layer(axum::extract::DefaultBodyLimit::max(LAYER_LIMIT)),
        )
        .route("/admin/evacuation/jma", post(api::read_telegram))
        .route("/staff/evacuation/alerts", get(api::list_alerts).post(api::issue_alert))
        .route("/staff/evacuation/alerts/{id}/approve", post(api::approve_alert))
        .route("/staff/evacuation/alerts/{id}/cancel", post(api::cancel_alert))
}

pub use crate::evacuation::upload::LAYER_LIMIT;

// ---------------------------------------------------------------------------------------------
// Loading a plan the visitor may see

async fn open_plan(st: &AppState, ctx: &Ctx, token: &str) -> Result<(StoredPlan, Arc<Atlas>), AppError> {
    let plan = plans::by_token(&st.db, token).await?;
    let resident = ctx.resident().ok();
    let staff = ctx.staff().ok();
    if !plan.may_view(resident, staff) {
        // A saved plan is private: say "not found" rather than confirm it exists.
        return Err(AppError::NotFound);
    }
    let plan = match (plan.kind, staff) {
        (PlanKind::Individual, Some(s)) => plans::open_individual(&st.db, s, plan, "plan page").await?,
        _ => plan,
    };
    let atlas = st.atlases.get(&st.db, plan.tenant_id).await?;
    Ok((plan, atlas))
}

struct FieldErr {
    id: String,
    message: String,
}

fn err(id: &str, message: String) -> FieldErr {
    FieldErr { id: id.into(), message }
}

fn err_for<'a>(errors: &'a [FieldErr], id: &str) -> Option<&'a str> {
    errors.iter().find(|e| e.id == id).map(|e| e.message.as_str())
}

/// The attributes of a field: its hint and, after a failed post, its error.
fn described(errors: &[FieldErr], id: &str, hint: bool) -> String {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    let invalid = err_for(errors, id).is_some();
    if invalid {
        ids.push(format!("{id}-error"));
    }
    let mut out = String::new();
    if !ids.is_empty() {
        out.push_str(&format!(" aria-describedby=\"{}\"", ids.join(" ")));
    }
    if invalid {
        out.push_str(" aria-invalid=\"true\"");
    }
    out
}

macro_rules! field_errors {
    ($page:ty) => {
        impl $page {
            fn err_for(&self, id: &str) -> Option<&str> {
                err_for(&self.errors, id)
            }
            fn attrs(&self, id: &str, hint: bool) -> String {
                described(&self.errors, id, hint)
            }
        }
    };
}

pub mod api;
mod evacuation_layers;
mod individual;
mod journey;
mod plan;
mod staff;

use individual::*;
use journey::*;
use plan::*;
pub(super) use staff::staff_outcome;
use staff::*;
