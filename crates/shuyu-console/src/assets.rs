//! The console's only static files, compiled into the binary: one stylesheet and an icon. No
//! external fonts, no CDN, no script.

use axum::http::header;
use axum::response::IntoResponse;

const STYLESHEET: &str = include_str!("../assets/shuyu.css");
const FAVICON: &str = include_str!("../assets/favicon.svg");

/// Assets change only with the binary; browsers may keep them for a day.
const CACHE: &str = "public, max-age=86400";

pub(crate) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        STYLESHEET,
    )
}

pub(crate) async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, CACHE),
        ],
        FAVICON,
    )
}
