//! Our extractors: axum's, with every rejection turned into a problem document that says what to fix.
//! Bodies are limited by middleware; request types deny unknown fields (`#[serde(deny_unknown_fields)]`).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(_) => {
            Problem::bad_request("the body is not well-formed JSON")
        }
        JsonRejection::JsonDataError(err) => {
            // serde's message names the field and the expectation ("unknown field `x`, expected one
            // of ...", "missing field `name`"), never a value from elsewhere.
            let text = err.body_text();
            let detail = text
                .split_once(": ")
                .map_or(text.as_str(), |(_, rest)| rest)
                .to_owned();
            Problem::invalid("body", detail)
        }
        JsonRejection::BytesRejection(_) => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            "the request body is larger than this server accepts; send less",
        ),
        _ => Problem::bad_request("the body could not be read as JSON"),
    }
}

/// Query string parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(err)) => {
                let text = err.body_text();
                let detail = text
                    .split_once(": ")
                    .map_or(text.as_str(), |(_, rest)| rest)
                    .to_owned();
                Err(Problem::invalid("query", detail))
            }
            Err(_) => Err(Problem::bad_request("the query string could not be read")),
        }
    }
}

/// Path parameters (ids). A malformed id is a 400 naming the kind of id expected.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => Err(Problem::invalid(
                "path",
                format!(
                    "the id in the path is malformed: {}",
                    err.body_text().rsplit(": ").next().unwrap_or("")
                ),
            )),
            Err(_) => Err(Problem::bad_request("the path could not be read")),
        }
    }
}
