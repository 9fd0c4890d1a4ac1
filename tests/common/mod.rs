//! Test harness: a fresh database per test (a SQLite file, or a new PostgreSQL database on the
//! server at `SWITCHBOARD_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`),
//! seeded users, and servers run in-process (`app::run` on `127.0.0.1:0`) or as a child process
//! (for `kill -9`). PostgreSQL tests fail, never skip, when the server cannot be reached.

#![allow(dead_code, reason = "each test binary uses a different part of the harness")]

pub mod fake_graph;
pub mod fake_oidc;
pub mod fake_smtp;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::config::{Secret, Settings};
use switchboard::storage::{self, StoreSettings};
use switchboard_actors::domain::{Account, Role, User};
use switchboard_actors::store::{NewUser, Store};

pub const PASSWORD: &str = "correct-horse-battery";

/// An HTTP client for tests (with the binary's TLS provider installed first, as reqwest needs).
pub fn http_client() -> reqwest::Client {
    switchboard::install_tls_provider();
    reqwest::Client::new()
}

pub fn postgres_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// Media files of this test's server.
    media: tempfile::TempDir,
    /// The master key file's directory, for PostgreSQL (apart from the media, which tests count).
    keys: tempfile::TempDir,
    postgres_name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("data/switchboard.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            media: tempfile::tempdir().expect("media dir"),
            keys: tempfile::tempdir().expect("keys dir"),
            postgres_name: None,
        }
    }

    pub async fn postgres() -> TestDb {
        use sqlx::Connection as _;
        let admin = postgres_admin_url();
        let mut connection = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|error| panic!("PostgreSQL at {admin} is required for this test: {error}"));
        let name = format!("switchboard_test_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').map(|(base, _)| base.to_owned()).unwrap_or(admin);
        TestDb {
            url: format!("{base}/{name}"),
            _dir: None,
            media: tempfile::tempdir().expect("media dir"),
            keys: tempfile::tempdir().expect("keys dir"),
            postgres_name: Some(name),
        }
    }

    pub fn store_settings(&self) -> StoreSettings {
        self.settings().store_settings().expect("the master key loads")
    }

    pub fn settings(&self) -> Settings {
        let mut settings = Settings::default();
        settings.database.url = Secret(self.url.clone());
        settings.server.listen = "127.0.0.1:0".to_owned();
        settings.server.workers = 2;
        settings.server.shutdown_timeout_secs = 5;
        settings.whatsapp.media_dir = self.media.path().display().to_string();
        settings.security.key_file = self.key_file().display().to_string();
        settings
    }

    /// Where this test's server stores files.
    pub fn media_dir(&self) -> PathBuf {
        self.media.path().to_path_buf()
    }

    /// This test's master key file (created by the first store or server that opens the
    /// database): the default beside a SQLite database (where the CLI finds it too), and in the
    /// test's own directory for PostgreSQL.
    pub fn key_file(&self) -> PathBuf {
        match &self._dir {
            Some(dir) => dir.path().join("data/master.key"),
            None => self.keys.path().join("master.key"),
        }
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        storage::open(&self.store_settings()).await.expect("open store").store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else { return };
        let admin = postgres_admin_url();
        // Drop runs outside async; use a small runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                use sqlx::Connection as _;
                let mut connection = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(&mut connection)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// The account and users every API test starts with.
pub struct Seeded {
    pub account: Account,
    pub admin: User,
    pub supervisor: User,
    pub agent: User,
    pub customer: User,
    pub other_customer: User,
}

/// A user of `account` who logs in with [`PASSWORD`] (named after their address unless `name`).
pub fn login_user(account: i64, email: &str, name: Option<&str>, role: Role, hash: &str) -> NewUser {
    NewUser {
        account_id: account,
        email: email.to_owned(),
        name: name.map_or_else(|| email.split('@').next().unwrap_or(email).to_owned(), str::to_owned),
        role,
        password_hash: Some(hash.to_owned()),
        company_id: None,
        team_ids: Vec::new(),
        capacity: 5,
        time_zone: "UTC".to_owned(),
        phone: None,
    }
}

/// Creates a second account with one user of `role` who logs in with [`PASSWORD`].
pub async fn other_account(store: &dyn Store, email: &str, name: &str, role: Role) -> User {
    let account = store.create_account("Other").await.expect("account");
    let hash = switchboard::auth::hash_password(PASSWORD).expect("hash");
    store.create_user(login_user(account.id, email, Some(name), role, &hash)).await.expect("user of another account")
}

pub async fn seed(store: &dyn Store) -> Seeded {
    let account = store.create_account("Test").await.expect("account");
    let hash = switchboard::auth::hash_password(PASSWORD).expect("hash");
    let user = |email: &str, role: Role| login_user(account.id, email, None, role, &hash);
    let admin = store.create_user(user("admin@test.example", Role::Admin)).await.expect("admin");
    let supervisor = store.create_user(user("sup@test.example", Role::Supervisor)).await.expect("supervisor");
    let agent = store.create_user(user("agent@test.example", Role::Agent)).await.expect("agent");
    let customer = store.create_user(user("cust@test.example", Role::Customer)).await.expect("customer");
    let other_customer = store.create_user(user("other@test.example", Role::Customer)).await.expect("customer");
    Seeded { account, admin, supervisor, agent, customer, other_customer }
}

/// A server running in this process.
pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    pub async fn start(settings: Settings) -> TestServer {
        TestServer::start_with_clock(settings, Arc::new(switchboard_actors::clock::SystemClock)).await
    }

    /// A server whose every service reads `clock` (a `ManualClock` the test moves).
    pub async fn start_with_clock(settings: Settings, clock: Arc<dyn switchboard_actors::clock::Clock>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // actix's server future is not Send: give it a thread and runtime of its own.
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            runtime.block_on(switchboard::app::run_with_clock(settings, listener, None, clock, async move {
                let _ = stopped.await;
            }))
        });
        let mut server = TestServer { base, http: http_client(), stop: Some(stop), thread: Some(thread) };
        server.wait_ready().await;
        server
    }

    /// Waits for `/readyz`; a server that ended while starting fails with its error.
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.base)).send().await
                && response.status().is_success()
            {
                return;
            }
            if self.thread.as_ref().is_some_and(|thread| thread.is_finished()) {
                let ended = self.thread.take().map(|thread| thread.join());
                panic!("server at {} ended while starting: {ended:?}", self.base);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server at {} did not become ready", self.base);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, email: &str) -> String {
        login(&self.http, &self.base, email).await
    }

    /// Sends `method path` with an optional bearer token and JSON body; returns status and body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        call(&self.http, &self.base, method, path, token, body).await
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .expect("join")
                .expect("server thread")
                .expect("server stopped cleanly");
        }
    }
}

pub async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {base} did not become ready");
}

pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let (status, body) =
        call(http, base, "POST", "/api/v1/auth/login", None, Some(json!({"email": email, "password": PASSWORD}))).await;
    assert_eq!(status, 200, "login of {email} failed: {body}");
    body["token"].as_str().expect("token").to_owned()
}

pub async fn call(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = http.request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, value)
}

/// The channels' secrets in effect, as the admin page reads them (`token`: an admin's).
pub async fn channel_secrets(http: &reqwest::Client, base: &str, token: &str) -> Value {
    let (status, secrets) = call(http, base, "GET", "/api/v1/account/channel-secrets", Some(token), None).await;
    assert_eq!(status, 200, "{secrets}");
    secrets
}

/// The WhatsApp app secret in effect (generated per install unless configured), to sign webhooks.
pub async fn app_secret(http: &reqwest::Client, base: &str) -> String {
    let admin = login(http, base, "admin@test.example").await;
    let secrets = channel_secrets(http, base, &admin).await;
    secrets["whatsapp"]["app_secret"]["value"].as_str().expect("app secret").to_owned()
}

/// The server binary as a child process, so a test can `kill -9` it.
pub struct ChildServer {
    pub base: String,
    child: Child,
    pub log: PathBuf,
}

impl ChildServer {
    pub async fn start(db: &TestDb, log_dir: &std::path::Path) -> ChildServer {
        ChildServer::start_with(db, log_dir, &[]).await
    }

    /// With extra environment, e.g. `SWITCHBOARD__REDIS__URL` for a node of a cluster.
    pub async fn start_with(db: &TestDb, log_dir: &std::path::Path, env: &[(&str, String)]) -> ChildServer {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let log = log_dir.join(format!("server-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .env("SWITCHBOARD__DATABASE__URL", &db.url)
            .env("SWITCHBOARD__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("SWITCHBOARD__SERVER__WORKERS", "2")
            .env("SWITCHBOARD__WHATSAPP__MEDIA_DIR", db.media.path())
            .env("SWITCHBOARD__SECURITY__KEY_FILE", db.key_file())
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn switchboard");
        let server = ChildServer { base: format!("http://127.0.0.1:{port}"), child, log };
        wait_ready(&http_client(), &server.base).await;
        server
    }

    /// The server's process id (for `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown hook runs, nothing is flushed.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client speaking the hub's JSON protocol.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl WsClient {
    pub async fn connect(base: &str, token: &str) -> WsClient {
        let url = format!("{}/api/v1/ws?token={token}", base.replacen("http://", "ws://", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        WsClient { stream }
    }

    /// Connects to `path_and_query` (e.g. `/api/v1/ws`) with extra handshake headers (a cookie,
    /// an `Origin`); the HTTP status of a refused upgrade otherwise.
    pub async fn connect_with(base: &str, path_and_query: &str, headers: &[(&str, &str)]) -> Result<WsClient, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
        let url = format!("{}{path_and_query}", base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a websocket request");
        for (name, value) in headers {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("websocket handshake failed: {other}"),
        }
    }

    /// Reads until the server closes the socket; its close code, or `None` when it stayed open
    /// for `wait` (or dropped without a close frame).
    pub async fn close_code(&mut self, wait: Duration) -> Option<u16> {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) | Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|frame| u16::from(frame.code)),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt as _;
        self.send_text(frame.to_string()).await;
        let _ = &mut self.stream.flush().await;
    }

    pub async fn send_text(&mut self, text: String) {
        use futures_util::SinkExt as _;
        self.stream.send(tokio_tungstenite::tungstenite::Message::Text(text.into())).await.expect("send");
    }

    /// The next JSON frame, or `None` when nothing arrives within `wait` or the socket closed.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next()).await.ok()??.ok()?;
            match message {
                Message::Text(text) => {
                    return Some(serde_json::from_str(text.as_str()).expect("server frames are JSON"));
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Skips frames until one of type `kind` (for `event`, also of `topic`) arrives.
    pub async fn expect(&mut self, kind: &str, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(frame) if frame["type"] == kind => return frame,
                Some(_) => continue,
                None => panic!("no `{kind}` frame within {wait:?}"),
            }
        }
    }

    /// Sends `subscribe` and waits for its `ack`.
    pub async fn subscribe(&mut self, topic: &str, after: Option<i64>) -> Value {
        let mut frame = json!({"type": "subscribe", "topic": topic});
        if let Some(after) = after {
            frame["after"] = json!(after);
        }
        self.send(frame).await;
        let ack = self.expect("ack", Duration::from_secs(5)).await;
        assert_eq!(ack["topic"], topic, "{ack}");
        ack
    }

    /// The next `event` frames, up to `count` or until `wait` passes without one.
    pub async fn events(&mut self, count: usize, wait: Duration) -> Vec<Value> {
        let mut events = Vec::new();
        while events.len() < count {
            match self.next(wait).await {
                Some(frame) if frame["type"] == "event" => events.push(frame),
                Some(_) => continue,
                None => break,
            }
        }
        events
    }

    /// Reads until the server closes the socket (or `wait` passes); returns the frames read and
    /// whether it closed.
    pub async fn drain_until_closed(&mut self, wait: Duration) -> (usize, bool) {
        use futures_util::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        let mut frames = 0;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return (frames, false),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return (frames, true),
                Ok(Some(Ok(Message::Text(_)))) => frames += 1,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
