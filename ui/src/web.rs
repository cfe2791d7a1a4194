//! The single-page app, built from `ui/web/` by `build.rs` and embedded in the binary. Any GET that is not an
//! API route gets the app's file of that path, or the app's `index.html` (the app routes in the browser).
//! Hashed files under `/assets/` are cached for good; `index.html` is answered anew each time, with its own nonce.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::api::{ApiError, CONTENT_SECURITY_POLICY};

/// What the build writes where the page's nonce goes (`html.cspNonce` in `web/vite.config.ts`).
const NONCE_PLACEHOLDER: &str = "__SIGHTLINE_CSP_NONCE__";

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
    if found.path == "/index.html" {
        return page(found);
    }
    // Vite names the files under `/assets/` by their content: a new build gives new names.
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

/// The app's page with a fresh nonce: in its Content-Security-Policy for styles, and in the page for the editor,
/// which creates style elements (CodeMirror) and gives them the nonce. Scripts stay limited to our own files.
fn page(index: &Asset) -> Response {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator");
    let nonce = STANDARD.encode(bytes);
    let html = String::from_utf8_lossy(index.body).replace(NONCE_PLACEHOLDER, &nonce);
    let policy = CONTENT_SECURITY_POLICY.replacen(
        "style-src 'self'",
        &format!("style-src 'self' 'nonce-{nonce}'"),
        1,
    );
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(index.content_type));
    // Revalidated, so a new version shows at once; never stored, as its nonce must not be reused.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
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
        assert!(
            html.contains(NONCE_PLACEHOLDER),
            "the page carries the nonce for the editor: {html}"
        );
        for reference in html.split(['"', '\'']).filter(|part| part.starts_with("/assets/")) {
            assert!(asset(reference).is_some(), "{reference} is referenced but not embedded");
        }
    }

    #[tokio::test]
    async fn each_page_gets_its_own_nonce_in_its_policy_and_its_html() {
        let nonce_of = |response: &Response| {
            let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .expect("ascii")
                .to_owned();
            let start = policy.find("'nonce-").expect("a nonce") + "'nonce-".len();
            let end = policy[start..].find('\'').expect("closing quote") + start;
            (policy[start..end].to_owned(), policy)
        };
        let first = serve(Method::GET, Uri::from_static("/")).await;
        let second = serve(Method::GET, Uri::from_static("/logs")).await;
        let ((nonce, policy), (other, _)) = (nonce_of(&first), nonce_of(&second));
        assert_ne!(nonce, other);
        assert!(policy.contains("script-src 'self';"), "scripts get no nonce: {policy}");
        assert_eq!(first.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(first.into_body(), usize::MAX).await.expect("body");
        let html = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert!(html.contains(&nonce) && !html.contains(NONCE_PLACEHOLDER), "{html}");
    }
}
