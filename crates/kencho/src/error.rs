//! The one application error type: a stable code, an HTTP status and a message in the user's
//! language. Database errors are mapped here, in one place. Every code is in [`CODES`], and its
//! text is `error.<code>` in `locales/*.toml`.

#[macro_use]
mod detail;
mod codes;
mod of_core;

pub use codes::CODES;
pub use detail::Detail;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kencho_core::forms::FieldError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign in required")]
    Unauthenticated,
    #[error("second factor required")]
    MfaRequired,
    #[error("forbidden")]
    Forbidden,
    #[error("invalid CSRF token")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(Detail),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(Detail),
    #[error("the form is out of date")]
    StaleForm,
    #[error("too many attempts")]
    RateLimited,
    #[error("payload too large")]
    TooLarge,
    #[error("unsupported media type: {0}")]
    UnsupportedMedia(String),
    #[error("invalid login")]
    BadLogin,
    #[error("not allowed in this state: {0}")]
    Transition(#[from] kencho_core::application::TransitionError),
    #[error("invalid procedure definition: {0}")]
    Definition(#[from] kencho_core::procedure::DefinitionError),
    /// A new password the policy refuses; the code says why.
    #[error("password refused: {0}")]
    Password(kencho_core::security::password::PasswordProblem),
    /// The tenant's table of roles (roles as data) does not let this staff member do the act.
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The API token's scope does not cover this request.
    #[error("the token's scope does not allow this")]
    TokenScope,
    /// The request took too long to arrive or to answer.
    #[error("request timed out")]
    Timeout,
    /// An approval act or route change the rules do not allow; the code says which rule.
    #[error("{1}")]
    Refused(&'static str, Detail),
    /// A secret or special-care value cannot be sealed or opened (no key, a key missing from
    /// the key file, a value altered or stored in clear); the code says which.
    #[error("{1}")]
    SecretKey(&'static str, String),
    /// A signing certificate, its key or its time-stamp authority that kencho cannot use
    /// (embedded PAdES signatures); the code says why, the detail is for the log.
    #[error("{0}: {1}")]
    Certificate(&'static str, String),
    /// A public data file (hazard layer, site list, town table) that does not follow its
    /// specification; the code says what kind of problem, the detail (in the reader's language)
    /// names the file, the line or feature, the attribute found and the one expected.
    #[error("{0}")]
    Data(kencho_core::evacuation::data::LoadError),
    /// A JMA telegram that does not follow 気象庁防災情報XML; the code says what is wrong.
    #[error("JMA XML: {0}")]
    Telegram(#[from] kencho_core::evacuation::jma::JmaError),
    /// A capture permit or capture record the 鳥獣保護管理法 rules refuse; the code says which.
    #[error("capture record: {0}")]
    Capture(#[from] kencho_core::iot::wildlife::CaptureError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
    /// Something kencho relies on failed unexpectedly (a file, a library, data of our own
    /// making); the error is kept whole, so the log shows its chain of causes.
    #[error("internal error: {0}")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    /// Stable, documented code for clients (one of [`CODES`]).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::MfaRequired => "mfa_required",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation(_) => "validation",
            AppError::Conflict(_) => "conflict",
            AppError::StaleForm => "stale_form",
            AppError::RateLimited => "rate_limited",
            AppError::TooLarge => "too_large",
            AppError::UnsupportedMedia(_) => "unsupported_media_type",
            AppError::BadLogin => "bad_login",
            AppError::Transition(_) => "invalid_transition",
            AppError::Definition(_) => "invalid_definition",
            AppError::Refused(code, _) => code,
            AppError::Password(p) => p.code(),
            AppError::NotPermitted(_) => "not_permitted",
            AppError::TokenScope => "token_scope",
            AppError::Timeout => "timeout",
            AppError::SecretKey(code, _) => code,
            AppError::Certificate(code, _) => code,
            AppError::Data(e) => e.code(),
            AppError::Telegram(e) => e.code(),
            AppError::Capture(e) => e.code(),
            AppError::Db(_) | AppError::Internal(_) | AppError::Unexpected(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated | AppError::BadLogin => StatusCode::UNAUTHORIZED,
            AppError::MfaRequired
            | AppError::Forbidden
            | AppError::Csrf
            | AppError::NotPermitted(_)
            | AppError::TokenScope => StatusCode::FORBIDDEN,
            AppError::Password(_) => StatusCode::BAD_REQUEST,
            AppError::Timeout => StatusCode::REQUEST_TIMEOUT,
            AppError::BadRequest(_) | AppError::Definition(_) | AppError::Data(_) | AppError::Telegram(_) => {
                StatusCode::BAD_REQUEST
            }
            // A TSA that does not answer is the server's problem to report, not the request's.
            AppError::Certificate("tsa_failed", _) => StatusCode::BAD_GATEWAY,
            AppError::Certificate(..) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Validation(_) | AppError::Capture(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) | AppError::StaleForm | AppError::Transition(_) | AppError::Refused(..) => {
                StatusCode::CONFLICT
            }
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Db(_) | AppError::Internal(_) | AppError::Unexpected(_) | AppError::SecretKey(..) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A message for people, in their language; never leaks internals. The text is
    /// `error.<code>` in `locales/*.toml`, its placeholders filled in from the error.
    pub fn message(&self, lang: &str) -> String {
        crate::i18n::tf_owned(lang, &format!("error.{}", self.code()), &self.args(lang))
    }

    /// The placeholders of the code's text: `{detail}` (what the developer message says),
    /// `{count}`, `{action}` and the JMA telegram's own.
    fn args(&self, lang: &str) -> Vec<(&'static str, String)> {
        let detail = |d: String| vec![("detail", d)];
        match self {
            AppError::BadRequest(d) | AppError::Conflict(d) | AppError::Refused(_, d) => detail(d.text(lang)),
            AppError::UnsupportedMedia(m) => detail(m.clone()),
            AppError::Validation(errs) => vec![("count", errs.len().to_string())],
            AppError::Transition(e) => detail(Detail::from(e).text(lang)),
            AppError::Definition(e) => detail(Detail::from(e).text(lang)),
            AppError::Data(e) => detail(Detail::from(e).text(lang)),
            AppError::Telegram(e) => of_core::telegram_args(e, lang),
            AppError::NotPermitted(action) => vec![("action", crate::i18n::t(lang, &format!("policy.{action}")))],
            _ => Vec::new(),
        }
    }
}

/// The code of a refusal axum's extractors and router make themselves (answered as JSON by the
/// API, see `web::json_rejection`).
pub fn rejection_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::unexpected(e)
    }
}

impl AppError {
    /// An unexpected failure, its source kept (`map_err(AppError::unexpected)`).
    pub fn unexpected(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> AppError {
        AppError::Unexpected(e.into())
    }

    /// An unexpected failure while doing `what` (a file, a stored value, a library): the
    /// cause is kept as the source, so the log shows its whole chain.
    pub fn failed(what: impl Into<String>, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> AppError {
        AppError::Unexpected(Box::new(Failed { what: what.into(), source: e.into() }))
    }

    /// A fault of the server rather than of the request: logged with its causes.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, AppError::Db(_) | AppError::Internal(_) | AppError::Unexpected(_) | AppError::SecretKey(..))
    }

    /// The error and each of its causes, for the log.
    pub fn with_causes(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        // The first source of `Unexpected` and `Db` is already in their own text.
        if matches!(self, AppError::Unexpected(_) | AppError::Db(_)) {
            cause = cause.and_then(std::error::Error::source);
        }
        while let Some(c) = cause {
            out.push_str(": ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }
}

/// What was being done when an unexpected error happened, with that error as its source.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
struct Failed {
    what: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// Unique-constraint violations are conflicts, not server errors.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation()
                || d.message().contains("UNIQUE constraint failed")
                || d.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<ApiFieldError>>,
}

#[derive(Serialize)]
pub struct ApiFieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

pub fn api_field_errors(errs: &[FieldError], lang: &str) -> Vec<ApiFieldError> {
    errs.iter()
        .map(|e| ApiFieldError {
            field: e.field.clone(),
            code: serde_json::to_value(&e.problem)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str().map(str::to_string)))
                .unwrap_or_default(),
            message: format!("{}: {}", e.label, crate::i18n::words::problem(lang, &e.problem)),
        })
        .collect()
}

/// JSON rendering, used by the API. Pages wrap errors in `web::PageError` instead.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.is_server_fault() {
            tracing::error!(error = %self.with_causes(), "request failed");
        }
        let errors = match &self {
            AppError::Validation(errs) => Some(api_field_errors(errs, "en")),
            _ => None,
        };
        let body = ErrorBody { code: self.code(), message: self.message("en"), errors };
        (self.status(), axum::Json(body)).into_response()
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    /// The refusal of a document with what its check found (400, each `where: what`).
    pub fn findings(findings: Vec<kencho_core::check::Finding>) -> AppError {
        AppError::BadRequest(Detail::findings(&findings, "; "))
    }
}
