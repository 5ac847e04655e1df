//! RFC 9457 problem details: the one table of error answers, reviewed for leaks in one place.
//!
//! Each problem has a stable `type` URI per kind, a fixed `title`, a `detail` a person can act on,
//! the `status`, the `instance` (the request id) and, for bad input, the `field` to fix. Internal
//! errors are logged with the request id and answered generically.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shuyu_app::{AppError, SsoRefusal};
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request id (also in the `x-request-id` header), to quote to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// For invalid input: the field to fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For input wrong in several places: each field to fix (the first is also `field`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// For policy refusals: the reason code (`not_cleared`, `second_factor_required`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a refused or failed workspace query: the stored query (`GET …/queries/{query_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
}

/// One field of the input to fix, e.g. `draft.fields[2].grade`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://shuyu.example/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            field: None,
            errors: Vec::new(),
            reason: None,
            query_id: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "Invalid input",
                detail,
            )
        }
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign in required",
            detail,
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "something went wrong on our side; quote the request id (instance) to the platform's administrators",
        )
    }

    pub fn with_instance(mut self, request_id: Option<String>) -> Self {
        if self.instance.is_none() {
            self.instance = request_id;
        }
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"shuyu\""),
            );
        }
        response
    }
}

impl From<AppError> for Problem {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unauthenticated => {
                Problem::unauthenticated("sign in first, or send a valid API token")
            }
            AppError::Forbidden(denial) if denial.code == "not_signed_in" => Problem {
                reason: Some(denial.code.to_owned()),
                ..Problem::unauthenticated(denial.message)
            },
            AppError::Forbidden(denial) => Problem {
                reason: Some(denial.code.to_owned()),
                ..Problem::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Not allowed",
                    denial.message,
                )
            },
            AppError::NotFound { kind } => Problem::not_found(format!(
                "no {kind} with that id exists, or it is not visible to you"
            )),
            AppError::Invalid { field, message } => Problem::invalid(field, message),
            AppError::InvalidFields(problems) => {
                let detail = problems
                    .iter()
                    .map(|(field, detail)| format!("`{field}`: {detail}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                let first = problems.first().map_or("body", |(field, _)| field.as_str());
                Problem {
                    errors: problems
                        .iter()
                        .map(|(field, detail)| FieldProblem {
                            field: field.clone(),
                            detail: detail.clone(),
                        })
                        .collect(),
                    ..Problem::invalid(first, detail)
                }
            }
            AppError::Conflict(message) => {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", message)
            }
            AppError::LoginFailed => Problem::new(
                StatusCode::UNAUTHORIZED,
                "login-failed",
                "Sign-in failed",
                "the username, password or second-factor code is wrong; repeated failures lock the account",
            ),
            AppError::SecondFactorRequired => Problem::new(
                StatusCode::UNAUTHORIZED,
                "second-factor-required",
                "Second factor required",
                "this account needs the 6-digit code from its authenticator app",
            ),
            AppError::Locked { until } => Problem::new(
                StatusCode::FORBIDDEN,
                "account-locked",
                "Account locked",
                format!(
                    "too many failed sign-ins; try again after {until} or ask an administrator to unlock it"
                ),
            ),
            AppError::Disabled => Problem::new(
                StatusCode::FORBIDDEN,
                "account-disabled",
                "Account disabled",
                "this account is disabled; ask an administrator",
            ),
            AppError::Sso(refusal) => sso_problem(&refusal),
            AppError::Unavailable(message) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Not available in this deployment",
                message,
            ),
            AppError::Query {
                query,
                refused,
                reason,
            } => Problem {
                query_id: Some(query.to_string()),
                ..if refused {
                    Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "query-refused",
                        "Query refused by the secure domain",
                        reason,
                    )
                } else {
                    Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "query-failed",
                        "Query stopped",
                        reason,
                    )
                }
            },
            AppError::Internal(message) => {
                tracing::error!(error = %message, "internal error");
                Problem::internal()
            }
        }
    }
}

/// A refused single sign-on. The callback is a console page; this is for completeness (and for any
/// API client that drives the flow).
fn sso_problem(refusal: &SsoRefusal) -> Problem {
    let (status, slug, title) = match refusal {
        SsoRefusal::NotConfigured => (
            StatusCode::NOT_FOUND,
            "sso-not-configured",
            "Single sign-on not configured",
        ),
        SsoRefusal::UnknownState | SsoRefusal::Expired => (
            StatusCode::BAD_REQUEST,
            "sso-state",
            "Single sign-on must start again",
        ),
        SsoRefusal::ProviderDenied { .. } => (
            StatusCode::UNAUTHORIZED,
            "sso-denied",
            "Single sign-on refused by the provider",
        ),
        SsoRefusal::ProviderUnavailable => (
            StatusCode::BAD_GATEWAY,
            "sso-unavailable",
            "Identity provider unavailable",
        ),
        SsoRefusal::InvalidResponse => (
            StatusCode::BAD_GATEWAY,
            "sso-invalid-response",
            "Identity provider answer refused",
        ),
        SsoRefusal::NotLinked => (
            StatusCode::FORBIDDEN,
            "sso-not-linked",
            "Identity not linked",
        ),
        SsoRefusal::SecondFactorMissing => (
            StatusCode::FORBIDDEN,
            "second-factor-required",
            "Second factor required",
        ),
    };
    Problem::new(status, slug, title, refusal.to_string())
}

/// An error of a handler: always answered as a problem with the request id filled in by middleware.
pub struct ApiError(pub Problem);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err.into())
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}
