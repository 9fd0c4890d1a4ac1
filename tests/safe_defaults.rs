//! Safe by default, still zero setup: the channels' secrets are generated per install (never the
//! well-known ones the binary used to carry), stored so a restart keeps them, readable by admins
//! only; `serve` refuses to put a sandbox left on by default on a network address; `/metrics`
//! answers loopback peers, or others with `ops.metrics_token`. Both backends where a database
//! is involved.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::App;
use common::*;
use serde_json::{Value, json};
use switchboard::channels::whatsapp::sign;
use switchboard::config::{Secret, Settings};

/// What the binary used to compile in and use whenever the configuration left them empty.
const OLD_APP_SECRET: &str = "switchboard-sandbox-app-secret";
const OLD_VERIFY_TOKEN: &str = "switchboard-sandbox-verify-token";
const OLD_EMAIL_SECRET: &str = "switchboard-sandbox-email-secret";

const KEYS: [(&str, &str); 3] = [("whatsapp", "app_secret"), ("whatsapp", "verify_token"), ("email", "inbound_secret")];

async fn secrets_of(server: &TestServer) -> Value {
    let admin = server.login("admin@test.example").await;
    channel_secrets(&server.http, &server.base, &admin).await
}

fn value<'a>(secrets: &'a Value, (channel, key): (&str, &str)) -> &'a str {
    secrets[channel][key]["value"].as_str().expect("secret value")
}

async fn whatsapp_webhook(server: &TestServer, secret: &str) -> u16 {
    let body = json!({"object": "whatsapp_business_account", "entry": []}).to_string();
    let response = server
        .http
        .post(server.url("/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(secret, body.as_bytes()))
        .body(body)
        .send()
        .await
        .expect("webhook");
    response.status().as_u16()
}

async fn email_webhook(server: &TestServer, secret: &str) -> u16 {
    let raw = "From: lia@customer.example\r\nTo: support@switchboard.localhost\r\nSubject: Hi\r\n\
               Message-ID: <safe-defaults@customer.example>\r\n\r\nhello\r\n";
    let response = server
        .http
        .post(server.url("/webhooks/email"))
        .header("x-switchboard-secret", secret)
        .body(raw)
        .send()
        .await
        .expect("email webhook");
    response.status().as_u16()
}

async fn handshake(server: &TestServer, token: &str) -> u16 {
    let url = server.url(&format!("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=42"));
    server.http.get(url).send().await.expect("handshake").status().as_u16()
}

async fn secrets_are_generated_per_install_and_kept(backend: Backend) {
    let (one, two) = (TestDb::new(backend).await, TestDb::new(backend).await);
    seed(&*one.open().await).await;
    seed(&*two.open().await).await;
    let server = TestServer::start(one.settings()).await;
    let other = TestServer::start(two.settings()).await;
    let (first, second) = (secrets_of(&server).await, secrets_of(&other).await);
    for key in KEYS {
        let (mine, theirs) = (value(&first, key), value(&second, key));
        assert_eq!(mine.len(), 43, "256 bits, URL-safe base64: {key:?}");
        assert_ne!(mine, theirs, "two installs never share {key:?}");
        assert!(![OLD_APP_SECRET, OLD_VERIFY_TOKEN, OLD_EMAIL_SECRET].contains(&mine));
        assert_eq!(first[key.0][key.1]["generated"], true, "{first}");
    }
    assert_eq!(first["whatsapp"]["webhook_url"], server.url("/webhooks/whatsapp"), "{first}");
    assert_eq!(first["email"]["webhook_url"], server.url("/webhooks/email"), "{first}");
    other.stop().await;

    // The well-known secrets open nothing any more; the generated ones do.
    assert_eq!(whatsapp_webhook(&server, OLD_APP_SECRET).await, 401);
    assert_eq!(whatsapp_webhook(&server, value(&first, KEYS[0])).await, 200);
    assert_eq!(handshake(&server, OLD_VERIFY_TOKEN).await, 403);
    assert_eq!(handshake(&server, value(&first, KEYS[1])).await, 200);
    assert_eq!(email_webhook(&server, OLD_EMAIL_SECRET).await, 401);
    assert_eq!(email_webhook(&server, value(&first, KEYS[2])).await, 202);

    // Admins only: agents and customers are refused, strangers asked to log in.
    for (who, status) in [("agent@test.example", 403), ("sup@test.example", 403), ("cust@test.example", 403)] {
        let token = server.login(who).await;
        let (got, refused) = server.call("GET", "/api/v1/account/channel-secrets", Some(&token), None).await;
        assert_eq!((got, refused["error"].as_str()), (status, Some("forbidden")), "{who}: {refused}");
        assert!(refused.get("whatsapp").is_none());
    }
    let (status, refused) = server.call("GET", "/api/v1/account/channel-secrets", None, None).await;
    assert_eq!((status, refused["error"].as_str()), (401, Some("unauthenticated")));
    server.stop().await;

    // A restart keeps them; a configured value wins over the generated one.
    let server = TestServer::start(one.settings()).await;
    let again = secrets_of(&server).await;
    for key in KEYS {
        assert_eq!(value(&again, key), value(&first, key), "{key:?} survives a restart");
    }
    server.stop().await;
    let mut settings = one.settings();
    settings.whatsapp.app_secret = Secret("configured-app-secret".to_owned());
    let server = TestServer::start(settings).await;
    let configured = secrets_of(&server).await;
    assert_eq!(configured["whatsapp"]["app_secret"], json!({"value": "configured-app-secret", "generated": false}));
    assert_eq!(value(&configured, KEYS[1]), value(&first, KEYS[1]), "the others stay generated");
    assert_eq!(whatsapp_webhook(&server, "configured-app-secret").await, 200);
    assert_eq!(whatsapp_webhook(&server, value(&first, KEYS[0])).await, 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_secrets_are_generated_per_install_and_kept() {
    secrets_are_generated_per_install_and_kept(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_secrets_are_generated_per_install_and_kept() {
    secrets_are_generated_per_install_and_kept(Backend::Postgres).await;
}

/// An admin of another account on the same install does not get the install's channel secrets
/// (the channels serve the first account; its secrets would let them forge its webhooks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_served_accounts_admins_read_the_channel_secrets() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    seed(&*store).await;
    other_account(&*store, "admin@other.example", "Other admin", switchboard_actors::domain::Role::Admin).await;
    let server = TestServer::start(db.settings()).await;
    let token = server.login("admin@other.example").await;
    let (status, refused) = server.call("GET", "/api/v1/account/channel-secrets", Some(&token), None).await;
    assert_eq!((status, refused["error"].as_str()), (403, Some("forbidden")), "{refused}");
    server.stop().await;
}

fn serve(db: &TestDb, listen: &str, env: &[(&str, &str)], log: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env("SWITCHBOARD__DATABASE__URL", &db.url)
        .env("SWITCHBOARD__SERVER__LISTEN", listen)
        .env("SWITCHBOARD__SERVER__WORKERS", "1")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("spawn switchboard")
}

/// `serve` on a network address with the sandboxes on by default refuses to start, saying why
/// and what to set; with both set explicitly it starts, warning that a sandbox is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_network_address_while_a_sandbox_is_on_by_default() {
    let db = TestDb::sqlite();
    let logs = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let listen = format!("0.0.0.0:{port}");

    let refused_log = logs.path().join("refused.log");
    let status = serve(&db, &listen, &[], &refused_log).wait().expect("wait");
    assert!(!status.success(), "it must not start");
    let said = std::fs::read_to_string(&refused_log).expect("log");
    assert!(said.contains("not a loopback address") && said.contains("whatsapp.sandbox and email.sandbox"), "{said}");
    let email_only_log = logs.path().join("email-only.log");
    let status =
        serve(&db, &listen, &[("SWITCHBOARD__WHATSAPP__SANDBOX", "false")], &email_only_log).wait().expect("wait");
    assert!(!status.success(), "email.sandbox is still on by default");
    assert!(std::fs::read_to_string(&email_only_log).expect("log").contains("email.sandbox is on by default"));

    let started_log = logs.path().join("started.log");
    let explicit = [("SWITCHBOARD__WHATSAPP__SANDBOX", "true"), ("SWITCHBOARD__EMAIL__SANDBOX", "true")];
    let http = http_client();
    // The free port was let go before the hub binds it: another test may take it in between,
    // so a start that finds it taken tries another port.
    let mut port = port;
    let mut child = 'started: loop {
        let mut child = serve(&db, &format!("0.0.0.0:{port}"), &explicit, &started_log);
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http.get(format!("{base}/readyz")).send().await.is_ok_and(|response| response.status().is_success()) {
                break 'started child;
            }
            if child.try_wait().expect("poll").is_some() {
                let said = std::fs::read_to_string(&started_log).unwrap_or_default();
                assert!(said.contains("Address already in use"), "{said}");
                port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
                continue 'started;
            }
            assert!(Instant::now() < deadline, "not ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let said = std::fs::read_to_string(&started_log).expect("log");
    assert!(said.contains("the WhatsApp sandbox is on") && said.contains("the email sandbox is on"), "{said}");
}

/// `/metrics` through the real routes, with the TCP peer a test can choose: loopback is
/// served; another host gets 403 when no token is configured, and 401 without the right one
/// when it is.
#[actix_web::test]
async fn metrics_go_to_loopback_peers_or_to_the_token_holder() {
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    // The handler records the process gauges through the global recorder, as `serve` installs it.
    metrics::set_global_recorder(recorder).expect("the only recorder of this test binary");
    let openapi = std::sync::Arc::new(String::from("{}"));
    let loopback: std::net::SocketAddr = "127.0.0.1:40000".parse().expect("addr");
    let remote: std::net::SocketAddr = "192.0.2.7:40000".parse().expect("addr");
    let get = |peer: std::net::SocketAddr, token: Option<&str>| {
        let mut request = actix_web::test::TestRequest::get().uri("/metrics").peer_addr(peer);
        if let Some(token) = token {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        request.to_request()
    };
    for token in ["", "scrape-token"] {
        let mut settings: Settings = db.settings();
        settings.ops.metrics_token = Secret(token.to_owned());
        let address = "127.0.0.1:1".parse().expect("addr");
        let services =
            switchboard::app::Services::serving(settings, address, Some(handle.clone())).await.expect("services");
        let app = actix_web::test::init_service(
            App::new().configure(|config| switchboard::app::routes::configure(config, &services, openapi.clone())),
        )
        .await;
        let status_and_body = async |request| {
            let response = actix_web::test::call_service(&app, request).await;
            let status = response.status().as_u16();
            let body = actix_web::test::read_body(response).await;
            (status, String::from_utf8_lossy(&body).into_owned())
        };
        let (status, body) = status_and_body(get(loopback, None)).await;
        assert_eq!(status, 200, "loopback is served: {body}");
        assert!(body.contains("process_resident_memory_bytes"), "{body}");
        if token.is_empty() {
            let (status, body) = status_and_body(get(remote, Some("anything"))).await;
            assert_eq!(status, 403, "{body}");
            let refused: Value = serde_json::from_str(&body).expect("the API's error shape");
            assert_eq!(refused["error"], "forbidden");
            assert!(refused["message"].as_str().is_some_and(|message| message.contains("ops.metrics_token")));
        } else {
            for wrong in [None, Some("scrape-toke"), Some("")] {
                let (status, body) = status_and_body(get(remote, wrong)).await;
                assert_eq!(status, 401, "{wrong:?}: {body}");
                let refused: Value = serde_json::from_str(&body).expect("the API's error shape");
                assert_eq!(refused["error"], "unauthenticated");
            }
            let (status, body) = status_and_body(get(remote, Some(token))).await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("process_resident_memory_bytes"));
        }
        services.stop().await;
    }
}
