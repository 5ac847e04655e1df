//! The audit trail: search, export (CSV or JSON Lines, streamed), integrity.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use shuyu_store::VerifyOutcome;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::caller::Caller;
use crate::extract::ApiQuery;
use crate::problem::{ApiError, Problem};
use crate::state::ApiState;
use crate::wire::{AuditEventOut, AuditPage, AuditQueryParams, VerifyOut};

pub(super) fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(export))
        .routes(routes!(verify))
}

/// Search the trail, newest first (supervisors and the authority; the search itself is audited).
#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", params(AuditQueryParams),
    responses((status = 200, body = AuditPage), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn search(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQueryParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::invalid("limit", "limit is 1 to 500").into());
    }
    let events = state
        .app
        .search_audit(&caller.ctx, &q.to_query(), q.before, limit)
        .await?;
    let next_before = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage {
        events: events.iter().map(AuditEventOut::from).collect(),
        next_before,
    }))
}

/// Export every matching event, oldest first, as JSON Lines (`format=jsonl`, default) or CSV.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(AuditQueryParams),
    responses((status = 200, description = "text/csv or application/jsonl, streamed"), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn export(
    State(state): State<ApiState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQueryParams>,
) -> Result<Response, ApiError> {
    let format = q.format.clone().unwrap_or_else(|| "jsonl".into());
    let csv = match format.as_str() {
        "csv" => true,
        "jsonl" => false,
        _ => return Err(Problem::invalid("format", "format is csv or jsonl").into()),
    };
    let events = state
        .app
        .export_audit(&caller.ctx, &q.to_query(), &format)
        .await?;
    let header_line = csv.then(|| Ok::<_, std::io::Error>(csv_header()));
    let body = futures_util::stream::iter(header_line).chain(events.map(move |item| match item {
        Ok(event) => Ok(if csv {
            csv_line(&AuditEventOut::from(&event))
        } else {
            jsonl_line(&AuditEventOut::from(&event))
        }),
        Err(err) => {
            tracing::error!(error = %err, "audit export failed midway");
            Err(std::io::Error::other("export failed"))
        }
    }));
    let (content_type, name) = if csv {
        ("text/csv; charset=utf-8", "audit.csv")
    } else {
        ("application/jsonl", "audit.jsonl")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// Recompute the SM3 chain and check the SM2-signed checkpoints (integrity only, no content).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = VerifyOut), (status = 403, body = Problem)))]
async fn verify(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<VerifyOut>, ApiError> {
    let outcome = state
        .app
        .verify_audit(&caller.ctx, (*state.verifier).clone())
        .await?;
    Ok(Json(match outcome {
        VerifyOutcome::Intact(r) => VerifyOut {
            intact: true,
            events: Some(r.events),
            checkpoints: Some(r.checkpoints),
            last_checkpoint_seq: Some(r.last_checkpoint_seq),
            unsigned_tail: Some(r.unsigned_tail),
            broken: None,
            first_broken_seq: None,
        },
        VerifyOutcome::Broken(b) => VerifyOut {
            intact: false,
            events: None,
            checkpoints: None,
            last_checkpoint_seq: None,
            unsigned_tail: None,
            broken: Some(b.to_string()),
            first_broken_seq: Some(b.seq()),
        },
    }))
}

pub(crate) const CSV_COLUMNS: [&str; 15] = [
    "seq",
    "at",
    "actor_person",
    "actor_org",
    "role",
    "action",
    "object_type",
    "object_id",
    "digest",
    "request_id",
    "source",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
];

pub fn csv_header() -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_COLUMNS);
    w.into_inner().unwrap_or_default()
}

/// One event as a CSV row (quoted as needed; cells starting with = + - @ are prefixed with ' so a
/// spreadsheet does not run them as formulas).
pub fn csv_line(e: &AuditEventOut) -> Vec<u8> {
    let safe = |s: &str| {
        if s.starts_with(['=', '+', '-', '@']) {
            format!("'{s}")
        } else {
            s.to_owned()
        }
    };
    let fields = [
        e.seq.to_string(),
        e.at.clone(),
        e.actor_person.clone().unwrap_or_default(),
        e.actor_org.clone().unwrap_or_default(),
        e.role.clone(),
        e.action.clone(),
        e.object_type.clone(),
        safe(&e.object_id),
        e.digest.clone(),
        e.request_id.clone(),
        e.source.clone(),
        e.outcome.clone(),
        safe(&e.detail),
        e.prev_hash.clone(),
        e.hash.clone(),
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(&fields);
    w.into_inner().unwrap_or_default()
}

pub fn jsonl_line(e: &AuditEventOut) -> Vec<u8> {
    let mut line = serde_json::to_vec(e).unwrap_or_default();
    line.push(b'\n');
    line
}
