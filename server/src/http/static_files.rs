//! The web client, embedded in the binary: any path that is not an API route
//! (`/signin`, `/setup`, `/admin`, `/my-rooms`: their `.html` pages).

use crate::error::HttpError;
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "../web"]
#[exclude = "node_modules/*"]
#[exclude = "tests/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
#[exclude = "*.md"]
struct WebAssets;

pub async fn get(uri: Uri) -> Result<Response, HttpError> {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    // Pages answer without their extension (/oncall, /setup, /admin, ...).
    let page = format!("{path}.html");
    let path = if !path.contains('.') && WebAssets::get(&page).is_some() {
        page.as_str()
    } else {
        path
    };
    let f = WebAssets::get(path).ok_or(HttpError::NotFound)?;
    let mime = match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        f.data.into_owned(),
    )
        .into_response())
}
