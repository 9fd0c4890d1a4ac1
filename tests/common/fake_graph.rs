//! A Graph API stand-in on loopback: records every request, answers sends with fresh wamids
//! (or, when scripted, with a Graph error code), serves a template list.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<(String, Value)>>,
    errors: Mutex<VecDeque<i64>>,
    sent: Mutex<u64>,
    /// Media ids asked for so far (`503503` fails on its first request).
    media_requests: Mutex<Vec<String>>,
    base: Mutex<String>,
    /// Where media ids starting `7000` point their download URL.
    elsewhere: Mutex<String>,
}

/// `GET /{version}/{media_id}`: a download URL on this server, as Meta hands out lookaside URLs
/// (or, asked for `fields`, a business number's profile).
async fn media_info(
    shared: web::Data<Arc<Shared>>,
    request: actix_web::HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (_, media_id) = path.into_inner();
    let first_time = {
        let mut asked = lock(&shared.media_requests);
        let first = !asked.contains(&media_id);
        asked.push(media_id.clone());
        first
    };
    // `GET /{version}/{phone_number_id}?fields=…`: the number's profile.
    if request.query_string().contains("fields=") {
        return HttpResponse::Ok().json(json!({
            "id": media_id, "display_phone_number": "+1 555-010-0001", "verified_name": "Fake Graph Support",
            "quality_rating": "GREEN", "name_status": "APPROVED", "code_verification_status": "VERIFIED"
        }));
    }
    match media_id.as_str() {
        // Media ids are digits, like Meta's: 404404 does not exist, 503503 fails once, and
        // 7000… answers a download URL somewhere else (a Graph API turned hostile, for the
        // hub's server-side request forgery guard).
        "404404" => HttpResponse::NotFound().json(json!({"error": {"message": "(#100) media not found", "code": 100}})),
        "503503" if first_time => {
            HttpResponse::ServiceUnavailable().json(json!({"error": {"message": "(#2) try later", "code": 2}}))
        }
        id if id.starts_with("7000") => HttpResponse::Ok().json(json!({
            "messaging_product": "whatsapp", "url": lock(&shared.elsewhere).clone(),
            "mime_type": "image/jpeg", "sha256": "x", "file_size": "16", "id": media_id
        })),
        _ => HttpResponse::Ok().json(json!({
            "messaging_product": "whatsapp", "url": format!("{}/download/{media_id}", lock(&shared.base)),
            "mime_type": "image/jpeg", "sha256": "x", "file_size": "16", "id": media_id
        })),
    }
}

/// The media bytes; like Meta, only with the bearer token.
async fn media_bytes(request: actix_web::HttpRequest, path: web::Path<String>) -> HttpResponse {
    if request.headers().get("authorization").and_then(|value| value.to_str().ok()) != Some("Bearer token") {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok().content_type("image/jpeg").body(format!("jpeg-bytes-{}", path.into_inner()))
}

pub struct FakeGraph {
    pub base: String,
    shared: Arc<Shared>,
    _thread: std::thread::JoinHandle<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn messages(
    shared: web::Data<Arc<Shared>>,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    let (_, number) = path.into_inner();
    let body = body.into_inner();
    lock(&shared.requests).push((format!("/{number}/messages"), body.clone()));
    if body["status"] == "read" {
        return HttpResponse::Ok().json(json!({"success": true}));
    }
    if let Some(code) = lock(&shared.errors).pop_front() {
        return HttpResponse::BadRequest().json(json!({"error": {
            "message": format!("(#{code}) scripted failure"), "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": "scripted by the test"}, "fbtrace_id": "test"
        }}));
    }
    let n = {
        let mut sent = lock(&shared.sent);
        *sent += 1;
        *sent
    };
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": body["to"], "wa_id": body["to"].as_str().unwrap_or("").trim_start_matches('+')}],
        "messages": [{"id": format!("wamid.OUT-{n}")}]
    }))
}

/// `POST /{version}/{number}/media` (multipart): records the upload, answers a media id.
async fn upload(shared: web::Data<Arc<Shared>>, request: actix_web::HttpRequest, body: web::Bytes) -> HttpResponse {
    let content_type =
        request.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let record = json!({"upload": true, "content_type": content_type, "body": String::from_utf8_lossy(&body)});
    let n = {
        let mut requests = lock(&shared.requests);
        requests.push(("/media".to_owned(), record));
        requests.len()
    };
    HttpResponse::Ok().json(json!({"id": format!("MEDIA-UP-{n}")}))
}

async fn templates() -> HttpResponse {
    HttpResponse::Ok().json(json!({"data": [
        {"name": "ticket_update", "language": "en_US", "category": "UTILITY", "status": "APPROVED",
         "components": [{"type": "BODY", "text": "Hi {{1}}, your ticket {{2}} has an update."}]},
        {"name": "promo", "language": "en_US", "category": "MARKETING", "status": "REJECTED",
         "components": [{"type": "BODY", "text": "Sale!"}]}
    ]}))
}

impl FakeGraph {
    pub fn start() -> FakeGraph {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared::default());
        *lock(&shared.base) = base.clone();
        let data = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(data.clone()))
                        .route("/{version}/{number}/messages", web::post().to(messages))
                        .route("/{version}/{number}/media", web::post().to(upload))
                        .route("/{version}/{waba}/message_templates", web::get().to(templates))
                        .route("/download/{media_id}", web::get().to(media_bytes))
                        .route("/{version}/{media_id}", web::get().to(media_info))
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run();
                let _ = server.await;
            });
        });
        FakeGraph { base, shared, _thread: thread }
    }

    /// Media ids starting `7000` answer this as their download URL.
    pub fn point_media_at(&self, url: &str) {
        *lock(&self.shared.elsewhere) = url.to_owned();
    }

    /// Media ids the hub asked about so far.
    pub fn media_requests(&self) -> Vec<String> {
        lock(&self.shared.media_requests).clone()
    }

    /// The next sends fail with these Graph error codes, in order.
    pub fn fail_next(&self, codes: &[i64]) {
        lock(&self.shared.errors).extend(codes);
    }

    /// Send bodies received so far (read receipts excluded).
    pub fn sends(&self) -> Vec<Value> {
        lock(&self.shared.requests)
            .iter()
            .filter(|(path, body)| body["status"] != "read" && path != "/media")
            .map(|(_, body)| body.clone())
            .collect()
    }

    pub fn uploads(&self) -> Vec<Value> {
        lock(&self.shared.requests).iter().filter(|(path, _)| path == "/media").map(|(_, body)| body.clone()).collect()
    }

    pub fn read_receipts(&self) -> Vec<Value> {
        lock(&self.shared.requests)
            .iter()
            .filter(|(_, body)| body["status"] == "read")
            .map(|(_, body)| body.clone())
            .collect()
    }
}
