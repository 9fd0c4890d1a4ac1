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
/// map in `index.html` and `portal.html`, is allowed by its hash (Chrome treats import maps as
/// inline scripts).
/// The service worker (`/sw.js`, scope `/` from its own path, so no `Service-Worker-Allowed`) and
/// the web app manifest come from this origin only, named rather than left to `default-src`.
static CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "default-src 'self'; script-src 'self'{}; style-src 'self'; img-src 'self' data: blob:; media-src 'self'; \
         connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'",
        import_map_hashes()
    )
});

/// ` 'sha256-…'` for the import map of each shell (the console's and the portal's), for the CSP.
fn import_map_hashes() -> String {
    let mut hashes: Vec<String> = ["index.html", "portal.html"].into_iter().filter_map(import_map_hash).collect();
    hashes.dedup();
    hashes.iter().map(|hash| format!(" '{hash}'")).collect()
}

/// `sha256-…` of the import map's text in a shell page.
fn import_map_hash(shell: &str) -> Option<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let index = ConsoleFiles::get(shell)?;
    let text = std::str::from_utf8(&index.data).ok()?;
    let start = text.find(r#"<script type="importmap">"#)? + r#"<script type="importmap">"#.len();
    let end = start + text[start..].find("</script>")?;
    let digest = sha2::Sha256::digest(&text.as_bytes()[start..end]);
    Some(format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest)))
}

/// The interface catalogs (`web/i18n/<language>.json`: key → text), parsed once. Their texts
/// live as long as the process, so the server's pages can hold them as `&'static str`.
static CATALOGS: std::sync::LazyLock<
    std::collections::HashMap<String, std::collections::HashMap<String, &'static str>>,
> = std::sync::LazyLock::new(|| {
    ConsoleFiles::iter()
        .filter_map(|path| {
            let language = path.strip_prefix("i18n/")?.strip_suffix(".json")?.to_owned();
            let file = ConsoleFiles::get(&path)?;
            let texts: std::collections::HashMap<String, String> = serde_json::from_slice(&file.data).ok()?;
            let texts = texts.into_iter().map(|(key, text)| (key, &*Box::leak(text.into_boxed_str()))).collect();
            Some((language, texts))
        })
        .collect()
});

/// The catalog's text for `key` in `language`, else in English, else empty (logged: the tests
/// check that every key the server reads is in the English catalog).
pub fn catalog_text(language: &str, key: &str) -> &'static str {
    let find = |language: &str| CATALOGS.get(language).and_then(|texts| texts.get(key)).copied();
    find(language).or_else(|| find("en")).unwrap_or_else(|| {
        tracing::warn!(key, "a text missing from the English catalog");
        ""
    })
}

/// The single-page app a client-side route belongs to.
fn shell_of(path: &str) -> &'static str {
    if path == "portal" || path.starts_with("portal/") { "portal.html" } else { "index.html" }
}

pub fn routes(config: &mut web::ServiceConfig) {
    config.default_service(web::get().to(serve));
}

pub(super) async fn serve(request: HttpRequest) -> HttpResponse {
    let path = request.path().trim_start_matches('/');
    let (_path, file) = match ConsoleFiles::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path.to_owned(), file),
        // Client-side routes get their app's shell: the portal's under `/portal`, the console's
        // elsewhere (`/agent`, `/tickets/42`).
        None => match ConsoleFiles::get(shell_of(path)) {
            Some(file) if !path.starts_with("api/") && !path.contains('.') => (shell_of(path).to_owned(), file),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_has_the_english_keys_and_no_others() {
        let english = CATALOGS.get("en").expect("the English catalog");
        for language in ["es", "pt"] {
            let other = CATALOGS.get(language).unwrap_or_else(|| panic!("the {language} catalog"));
            let mut missing: Vec<_> = english.keys().filter(|key| !other.contains_key(*key)).collect();
            let mut extra: Vec<_> = other.keys().filter(|key| !english.contains_key(*key)).collect();
            missing.sort();
            extra.sort();
            assert!(missing.is_empty() && extra.is_empty(), "{language}: missing {missing:?}, extra {extra:?}");
            assert!(other.values().all(|text| !text.trim().is_empty()), "{language}: an empty text");
        }
    }

    #[test]
    fn texts_fall_back_to_english() {
        assert_eq!(catalog_text("es", "portal.nav.tickets"), "Mis tickets");
        assert_eq!(catalog_text("xx", "portal.nav.tickets"), "My tickets");
    }
}
