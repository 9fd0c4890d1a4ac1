//! A small OpenID Connect provider on loopback for the single sign-on tests: a discovery
//! document, a key set with a P-256 key made for this run, an authorize endpoint that sends the
//! browser straight back with a code (as if its user had signed in), and a token endpoint that
//! checks the client, the redirect URI and the PKCE verifier and answers an ES256 ID token it
//! signs itself (not with the library the hub verifies with). What the next token says is
//! scripted (`next`): email, whether it is verified, audience, nonce, or a refusal.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use serde_json::json;
use sha2::Digest as _;
use switchboard_actors::clock::Clock;

pub const CLIENT_ID: &str = "switchboard-test";
pub const CLIENT_SECRET: &str = "fake-oidc-client-secret-4b1d";
const KEY_ID: &str = "test-key-1";
/// An ID token is good for 5 minutes from the sign-in at the provider.
const TOKEN_LIFETIME_SECS: i64 = 300;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the next ID token says (`None`: what a well-behaved provider would).
#[derive(Clone, Debug, Default)]
pub struct Script {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    /// The authorize endpoint answers this `error` instead of a code.
    pub refuse: Option<String>,
}

struct Authorized {
    /// When the user signed in here: the token's `iat`, and its `exp` counts from it.
    signed_in_at: i64,
    nonce: String,
    challenge: String,
    redirect_uri: String,
    script: Script,
}

struct Shared {
    issuer: String,
    key: p256::ecdsa::SigningKey,
    clock: Arc<dyn Clock>,
    next: Mutex<Script>,
    codes: Mutex<HashMap<String, Authorized>>,
    token_requests: Mutex<u32>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn discovery(shared: web::Data<Arc<Shared>>) -> HttpResponse {
    let issuer = &shared.issuer;
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": ["openid", "email", "profile"],
        "code_challenge_methods_supported": ["S256"]
    }))
}

async fn jwks(shared: web::Data<Arc<Shared>>) -> HttpResponse {
    let point = shared.key.verifying_key().to_sec1_point(false);
    let (x, y) = (point.x().expect("x"), point.y().expect("y"));
    HttpResponse::Ok().json(json!({"keys": [{
        "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": KEY_ID, "use": "sig", "alg": "ES256"
    }]}))
}

/// Signs the user in at once and sends the browser back with a code (or the scripted refusal).
async fn authorize(shared: web::Data<Arc<Shared>>, query: web::Query<HashMap<String, String>>) -> HttpResponse {
    let field = |name: &str| query.get(name).cloned().unwrap_or_default();
    let redirect_uri = field("redirect_uri");
    let wanted = [("response_type", "code"), ("client_id", CLIENT_ID), ("code_challenge_method", "S256")];
    if wanted.iter().any(|(name, value)| field(name) != *value) || !field("scope").split(' ').any(|s| s == "openid") {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_request", "query": *query}));
    }
    let script = std::mem::take(&mut *lock(&shared.next));
    let state = field("state");
    let back = match &script.refuse {
        Some(error) => format!("{redirect_uri}?error={error}&state={state}"),
        None => {
            let mut bytes = [0u8; 16];
            rand::fill(&mut bytes);
            let code = b64(&bytes);
            let authorized = Authorized {
                signed_in_at: shared.clock.now().as_second(),
                nonce: field("nonce"),
                challenge: field("code_challenge"),
                redirect_uri: redirect_uri.clone(),
                script,
            };
            lock(&shared.codes).insert(code.clone(), authorized);
            format!("{redirect_uri}?code={code}&state={state}&iss={}", shared.issuer)
        }
    };
    HttpResponse::SeeOther().insert_header(("location", back)).finish()
}

fn token_error(error: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": error}))
}

/// The code exchange: client authenticated by HTTP Basic, code used once, same redirect URI,
/// PKCE verifier matching the challenge; then an ES256 ID token.
async fn token(
    shared: web::Data<Arc<Shared>>,
    request: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    *lock(&shared.token_requests) += 1;
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if request.headers().get("authorization").and_then(|value| value.to_str().ok()) != Some(expected.as_str()) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    if field("grant_type") != "authorization_code" {
        return token_error("unsupported_grant_type");
    }
    let Some(authorized) = lock(&shared.codes).remove(&field("code")) else { return token_error("invalid_grant") };
    let challenge = b64(&sha2::Sha256::digest(field("code_verifier").as_bytes()));
    if authorized.redirect_uri != field("redirect_uri") || authorized.challenge != challenge {
        return token_error("invalid_grant");
    }
    let now = authorized.signed_in_at;
    let script = authorized.script;
    let claims = json!({
        "iss": shared.issuer,
        "sub": "user-42",
        "aud": script.audience.unwrap_or_else(|| CLIENT_ID.to_owned()),
        "iat": now,
        "exp": now + TOKEN_LIFETIME_SECS,
        "nonce": script.nonce.unwrap_or(authorized.nonce),
        "email": script.email.unwrap_or_else(|| "agent@test.example".to_owned()),
        "email_verified": script.email_verified.unwrap_or(true),
    });
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": KEY_ID});
    let signed = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature: p256::ecdsa::Signature = shared.key.sign(signed.as_bytes());
    let id_token = format!("{signed}.{}", b64(&signature.to_bytes()));
    HttpResponse::Ok().json(
        json!({"access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}),
    )
}

pub struct FakeOidc {
    pub issuer: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl FakeOidc {
    /// A provider on `127.0.0.1:<free port>` stamping its tokens with `clock`.
    pub fn start(clock: Arc<dyn Clock>) -> FakeOidc {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let key = p256::ecdsa::SigningKey::from_slice(&secret).expect("a P-256 key");
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            key,
            clock,
            next: Mutex::new(Script::default()),
            codes: Mutex::new(HashMap::new()),
            token_requests: Mutex::new(0),
        });
        let data = shared.clone();
        let (handles, handle) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(data.clone()))
                        .route("/.well-known/openid-configuration", web::get().to(discovery))
                        .route("/jwks", web::get().to(jwks))
                        .route("/authorize", web::get().to(authorize))
                        .route("/token", web::post().to(token))
                })
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run();
                let _ = handles.send(server.handle());
                let _ = server.await;
            });
        });
        let handle = handle.recv().expect("the provider started");
        FakeOidc { issuer, shared, handle }
    }

    /// What the next sign-in's ID token says.
    pub fn script(&self, script: Script) {
        *lock(&self.shared.next) = script;
    }

    /// How many code exchanges were asked for so far.
    pub fn token_requests(&self) -> u32 {
        *lock(&self.shared.token_requests)
    }
}

impl Drop for FakeOidc {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
