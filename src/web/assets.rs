//! The page and everything it loads, compiled into the binary: the view
//! works with no network and no files beside labctl. `assets/web/` holds
//! the page, `assets/vendor/` the graph library (Cytoscape.js, MIT; its
//! licence in `assets/vendor/LICENSES`).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../assets/web/index.html");

/// Name, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/web/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/web/app.css"),
    ),
    (
        "cytoscape.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/vendor/cytoscape.min.js"),
    ),
];

/// Headers every answer of ours carries: nothing from elsewhere may load.
const POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::CACHE_CONTROL, "no-store"),
        ],
        INDEX,
    )
        .into_response()
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_embedded_assets() {
        for (name, _, body) in ASSETS {
            assert!(!body.is_empty(), "{name}");
            assert!(INDEX.contains(&format!("/assets/{name}")), "{name}");
        }
        for line in INDEX.lines() {
            for attribute in ["src=\"", "href=\""] {
                if let Some(at) = line.find(attribute) {
                    let target = &line[at + attribute.len()..];
                    assert!(target.starts_with("/assets/"), "loads {line}");
                }
            }
        }
    }
}
