//! The web console: a few static files (HTML, CSS, JavaScript modules, no build step) compiled
//! into the binary and served at `/` and `/console/…`, so that the gateway needs no folder
//! beside it, in `./dev`, compose or Kubernetes alike. The pages call the public API like any
//! client, with a token; the files themselves need none. `docs/console.md` describes the pages.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The page every route of the console starts from.
const INDEX: &str = include_str!("../console/index.html");

/// The other files: (name under `/console/`, content type, content).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css",
        include_str!("../console/style.css"),
    ),
    (
        "app.js",
        "text/javascript",
        include_str!("../console/app.js"),
    ),
    (
        "api.js",
        "text/javascript",
        include_str!("../console/api.js"),
    ),
    (
        "live.js",
        "text/javascript",
        include_str!("../console/live.js"),
    ),
    ("ui.js", "text/javascript", include_str!("../console/ui.js")),
    (
        "customer.js",
        "text/javascript",
        include_str!("../console/customer.js"),
    ),
    (
        "owner.js",
        "text/javascript",
        include_str!("../console/owner.js"),
    ),
    (
        "rider.js",
        "text/javascript",
        include_str!("../console/rider.js"),
    ),
    (
        "ops.js",
        "text/javascript",
        include_str!("../console/ops.js"),
    ),
    (
        "order.js",
        "text/javascript",
        include_str!("../console/order.js"),
    ),
];

/// The index, telling the page whether development sign-in is offered (the endpoint is 404
/// where it is off, and the page then asks for a token instead).
pub fn index_page(dev_tokens: bool) -> String {
    INDEX.replace("{{DEV_TOKENS}}", if dev_tokens { "on" } else { "off" })
}

/// The index as served.
pub fn index(page: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page.to_owned(),
    )
        .into_response()
}

/// `/console/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, ..)| *name == file) {
        Some((_, content_type, body)) => {
            let mut response = (*body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&format!("{content_type}; charset=utf-8"))
                    .unwrap_or(HeaderValue::from_static("text/plain")),
            );
            // Revalidated each time: the files change with the binary, and are small.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_pages_import_is_served() {
        let served: Vec<&str> = ASSETS.iter().map(|(name, ..)| *name).collect();
        for (_, _, body) in ASSETS {
            for import in body.split("from \"./").skip(1) {
                let name = import.split('"').next().unwrap_or_default();
                assert!(served.contains(&name), "{name} is imported but not served");
            }
        }
        assert!(INDEX.contains("/console/app.js"));
    }
}
