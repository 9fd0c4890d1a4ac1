//! The command line as a newcomer uses it: the real binary against a fresh SQLite database.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ChildServer, TestDb};

fn switchboard(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("SWITCHBOARD__DATABASE__URL", &db.url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run switchboard")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn migrate_then_user_add_creates_the_default_account() {
    let db = TestDb::sqlite();
    let migrated = switchboard(&db, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let added = switchboard(
        &db,
        &["user", "add", "--email", "boss@example.com", "--password", "long-enough", "--role", "admin"],
    );
    assert!(added.status.success(), "{}", text(&added));
    assert!(
        text(&added).contains("created admin user #1 <boss@example.com> in account #1 (Default)"),
        "{}",
        text(&added)
    );

    let again = switchboard(
        &db,
        &["user", "add", "--email", "BOSS@example.com", "--password", "long-enough", "--role", "agent"],
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let short =
        switchboard(&db, &["user", "add", "--email", "x@example.com", "--password", "short", "--role", "agent"]);
    assert!(!short.status.success());
    let role =
        switchboard(&db, &["user", "add", "--email", "y@example.com", "--password", "long-enough", "--role", "boss"]);
    assert!(!role.status.success(), "unknown roles are refused");
}

#[test]
fn config_check_validates_and_redacts() {
    let db = TestDb::sqlite();
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["config", "check"])
        .env("SWITCHBOARD__DATABASE__URL", &db.url)
        .env("SWITCHBOARD__WHATSAPP__APP_SECRET", "very-secret-value")
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", text(&output));
    let shown = text(&output);
    assert!(shown.contains("configuration is valid") && shown.contains("listen = \"127.0.0.1:8080\""), "{shown}");
    assert!(!shown.contains("very-secret-value") && shown.contains("[redacted]"), "{shown}");
    // The secrets the configuration leaves empty were generated on first run and are printed in
    // full (an admin has nowhere else to read them from the command line); the configured one
    // is only named. Stored: a second run prints the same.
    let generated = |shown: &str, key: &str| -> Option<String> {
        let line = shown.lines().find(|line| line.starts_with(&format!("# {key} ")))?;
        let mut words = line.split_whitespace().skip(2);
        let value = words.next()?.to_owned();
        (words.next() == Some("(generated)")).then_some(value)
    };
    assert!(
        shown.lines().any(|line| line.starts_with("# whatsapp.app_secret") && line.ends_with("(configured)")),
        "{shown}"
    );
    let inbound = generated(&shown, "email.inbound_secret").expect("the email secret is generated");
    let verify = generated(&shown, "whatsapp.verify_token").expect("the verify token is generated");
    assert_eq!((inbound.len(), verify.len()), (43, 43), "{shown}");
    let again = text(&switchboard(&db, &["config", "check"]));
    assert_eq!(generated(&again, "email.inbound_secret").as_deref(), Some(inbound.as_str()), "stored: {again}");
    assert!(generated(&again, "whatsapp.app_secret").is_some(), "generated once not configured: {again}");
    assert!(!again.contains("would not start"), "{again}");
    // A network address with the sandbox on by default is valid configuration, but `serve`
    // would refuse it: said up front.
    let exposed = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["config", "check"])
        .env("SWITCHBOARD__DATABASE__URL", &db.url)
        .env("SWITCHBOARD__SERVER__LISTEN", "0.0.0.0:8080")
        .output()
        .expect("run");
    assert!(exposed.status.success(), "{}", text(&exposed));
    assert!(text(&exposed).contains("`serve` would not start with this"), "{}", text(&exposed));

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nlisten = \"not an address\"\n").expect("write");
    let bad = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(&file)
        .args(["config", "check"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("server.listen"), "{}", text(&bad));
    // --config works after the subcommand too.
    let after = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(after.status.code(), Some(2));
}

#[test]
fn demo_seeds_once_and_prints_the_logins() {
    let db = TestDb::sqlite();
    let first = switchboard(&db, &["demo"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("ana@demo.switchboard.test") && text(&first).contains("switchboard-demo"),
        "{}",
        text(&first)
    );
    let second = switchboard(&db, &["demo"]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(text(&second).contains("already exists"), "{}", text(&second));
}

/// `reports rebuild` replays the whole log into the reports from position 0, the same figures
/// however often it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_rebuild_projects_the_whole_log_and_gives_the_same_aggregates_again() {
    let db = TestDb::sqlite();
    assert!(switchboard(&db, &["demo"]).status.success());
    let rebuilt = switchboard(&db, &["reports", "rebuild"]);
    assert!(rebuilt.status.success(), "{}", text(&rebuilt));
    let store = db.open().await;
    let end = store.last_event_position().await.expect("log end");
    assert!(end > 0 && text(&rebuilt).contains(&format!("up to position {end}")), "{}", text(&rebuilt));
    let account = store.first_account().await.expect("account").expect("the demo account").id;
    let once = store.daily_aggregates(account).await.expect("aggregates");
    assert!(!once.is_empty(), "the demo's tickets are counted");
    assert!(switchboard(&db, &["reports", "rebuild"]).status.success());
    assert_eq!(store.daily_aggregates(account).await.expect("aggregates"), once);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_logins_work_and_the_tickets_are_listed() {
    let db = TestDb::sqlite();
    assert!(switchboard(&db, &["demo"]).status.success());
    let logs = tempfile::tempdir().expect("dir");
    let server = ChildServer::start(&db, logs.path()).await;
    let http = common::http_client();
    let (status, login) = common::call(
        &http,
        &server.base,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(serde_json::json!({"email": "ana@demo.switchboard.test", "password": "switchboard-demo"})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().expect("token");
    let (status, list) = common::call(&http, &server.base, "GET", "/api/v1/tickets", Some(token), None).await;
    assert_eq!(status, 200);
    let statuses: std::collections::BTreeSet<&str> =
        list["items"].as_array().expect("items").iter().filter_map(|t| t["status"].as_str()).collect();
    assert!(statuses.len() >= 4, "tickets in several states: {statuses:?}");
    let (_, admin) = common::call(
        &http,
        &server.base,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(serde_json::json!({"email": "admin@demo.switchboard.test", "password": "switchboard-demo"})),
    )
    .await;
    let admin = admin["token"].as_str().expect("admin token");
    let (status, rules) = common::call(&http, &server.base, "GET", "/api/v1/automations", Some(admin), None).await;
    assert_eq!(status, 200, "{rules}");
    let names: Vec<&str> =
        rules["items"].as_array().expect("rules").iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names.len(), switchboard::demo::demo_rules().len(), "{names:?}");
    assert!(names.iter().any(|name| name.starts_with("Escalation 2")), "a two-level escalation: {names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_the_process_memory_and_cpu() {
    let db = TestDb::sqlite();
    let logs = tempfile::tempdir().expect("dir");
    let server = ChildServer::start(&db, logs.path()).await;
    let text = common::http_client()
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    // A running hub holds at least a few MiB and has used some CPU to start.
    assert!(value("process_resident_memory_bytes") > 4.0 * 1024.0 * 1024.0);
    assert!(value("process_cpu_seconds_total") > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_cleanly() {
    let db = TestDb::sqlite();
    let logs = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env("SWITCHBOARD__DATABASE__URL", &db.url)
        .env("SWITCHBOARD__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(logs.path().join("log")).expect("log"))
        .spawn()
        .expect("spawn");
    common::wait_ready(&common::http_client(), &format!("http://127.0.0.1:{port}")).await;
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    let log = std::fs::read_to_string(logs.path().join("log")).expect("log");
    assert!(log.contains("shutting down") && log.contains("stopped"), "{log}");
}
