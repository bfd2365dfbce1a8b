//! 電子決裁 pages (`/staff/approval…`) and API (`/api/v1/approval…`, `/api/v1/admin/approval…`):
//! inboxes, drafting, the document with its route and acts, absences, the organisation and
//! 専決 table editor, records disposal and the paperless figures.

use std::collections::{BTreeSet, HashMap};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kencho_core::approval::doc::{fiscal_year, format_date};
use kencho_core::approval::figures::DivisionFigures;
use kencho_core::approval::org::{PersonId, PostId};
use kencho_core::approval::records::{HoldKind, RetentionClass};
use kencho_core::approval::route::{Done, Role, StateKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json;
use super::{fmt_time, form_get, render, staff_form, AppState, Ctx, InLang, Layout, PageResult};
use crate::accounts::Staff;
use crate::approval::kian::{self, Draft, Inbox, Kian, Line, RouteEdit, Source};
use crate::approval::setup::{self, person_of, staff_id_of, Setup};
use crate::approval::{self as approval, holds, records};
use crate::db::now_ms;
use crate::error::{AppError, Result};

pub(super) mod api;
mod disposal;
mod document;
mod figures;
mod inbox;
mod organisation;
mod views;

use self::api::*;
use self::disposal::*;
use self::document::*;
use self::figures::*;
use self::inbox::*;
use self::organisation::*;
use self::views::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/approval", get(inbox_page).post(create_page))
        .route("/staff/approval/new", get(new_page))
        .route("/staff/approval/{id}", get(doc_page))
        .route("/staff/approval/{id}/act", post(act_page))
        .route("/staff/approval/{id}/route", post(route_page))
        .route("/staff/approval/{id}/files", post(attach_page))
        .route("/staff/approval/{id}/files/{fid}", get(download_page))
        .route("/staff/approval/{id}/execute", post(execute_page))
        .route("/staff/approval/{id}/notice", post(reissue_page))
        .route("/staff/approval/absences", get(absences_page).post(add_absence_page))
        .route("/staff/approval/setup", get(setup_page).post(load_setup_page))
        .route("/staff/approval/records", get(records_page).post(dispose_page))
        .route("/staff/approval/records/{id}/holds", post(hold_page))
        .route("/staff/approval/figures", get(figures_page))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/approval/{kind}", put(api_load_setup))
        .route("/approval", get(api_inbox).post(api_create))
        .route("/approval/figures", get(api_figures))
        .route("/approval/{id}", get(api_get))
        .route("/approval/{id}/acts", post(api_act))
        .route("/approval/{id}/route", post(api_route))
        .route("/approval/{id}/execute", post(api_execute))
        .route("/absences", post(api_absence))
        .route("/records/disposal", get(api_disposal_list).post(api_dispose))
        .route("/records/{id}/holds", get(api_holds).post(api_place_hold))
        .route("/records/{id}/holds/{hold}/lift", post(api_lift_hold))
}
