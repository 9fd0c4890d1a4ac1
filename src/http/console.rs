//! The console: files under `web/`, embedded in release builds (read from disk in debug builds,
//! so edits show on reload). Served with a strict Content-Security-Policy.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

/// The console's files; its browser tests (and their node_modules) and the script that draws the
/// PNG icons are never embedded or served.
#[derive(RustEmbed)]
#[folder = "web/"]
#[exclude = "tests/*"]
#[exclude = "icons/*.py"]
struct ConsoleFiles;

/// Scripts only from this origin; no inline script, no eval. The one inline element, the import
/// map in `index.html`, is allowed by its hash (Chrome treats import maps as inline scripts).
/// The service worker (`/sw.js`, scope `/` from its own path, so no `Service-Worker-Allowed`) and
/// the web app manifest come from this origin only, named rather than left to `default-src`.
static CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "default-src 'self'; script-src 'self'{}; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; \
         connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'",
        import_map_hash().map(|hash| format!(" '{hash}'")).unwrap_or_default()
    )
});

/// `sha256-…` of the import map's text in `index.html`, for the CSP.
fn import_map_hash() -> Option<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let index = ConsoleFiles::get("index.html")?;
    let text = std::str::from_utf8(&index.data).ok()?;
    let start = text.find(r#"<script type="importmap">"#)? + r#"<script type="importmap">"#.len();
    let end = start + text[start..].find("</script>")?;
    let digest = sha2::Sha256::digest(&text.as_bytes()[start..end]);
    Some(format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest)))
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.default_service(web::get().to(serve));
}

pub(super) async fn serve(request: HttpRequest) -> HttpResponse {
    let path = request.path().trim_start_matches('/');
    let (_path, file) = match ConsoleFiles::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path.to_owned(), file),
        // Client-side routes (`/tickets/42`) get the app shell.
        None => match ConsoleFiles::get("index.html") {
            Some(file) if !path.starts_with("api/") && !path.contains('.') => ("index.html".to_owned(), file),
            _ => {
                return HttpResponse::NotFound()
                    .json(serde_json::json!({"error": "not_found", "message": "no such page"}));
            }
        },
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    if request.headers().get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok()) == Some(etag.as_str()) {
        return HttpResponse::NotModified().finish();
    }
    HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(file.data.into_owned())
}
