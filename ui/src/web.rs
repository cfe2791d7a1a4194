//! The single-page app, built from `ui/web/` by `build.rs` and embedded in the binary. Any GET that is not an
//! API route gets the app's file of that path, or the app's `index.html` (the app routes in the browser).
//! Hashed files under `/assets/` are cached for good; `index.html` is revalidated, so a new version shows at once.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::api::ApiError;

/// One file of the app's build.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// The answer to a request no route took.
pub(crate) async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") {
        return ApiError::not_found(format!("no API route {path}")).into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let found = asset(path).or_else(|| {
        // A missing hashed file is a 404, not the app: a stale page must not get HTML for its script.
        (!path.starts_with("/assets/")).then(|| asset("/index.html")).flatten()
    });
    let Some(found) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if found.path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = found.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(found.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_has_an_index_that_loads_only_files_of_the_build() {
        let index = asset("/index.html").expect("index.html is embedded");
        let html = std::str::from_utf8(index.body).expect("UTF-8");
        assert!(!html.contains("<script>") && !html.contains("style="), "nothing inline: {html}");
        for reference in html.split(['"', '\'']).filter(|part| part.starts_with("/assets/")) {
            assert!(asset(reference).is_some(), "{reference} is referenced but not embedded");
        }
    }
}
