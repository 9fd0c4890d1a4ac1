//! Secrets at rest (issue 17 item 8), on SQLite and PostgreSQL: secrets written through the API
//! are nowhere in the database's bytes (the SQLite files, every column of every PostgreSQL
//! table) and the hub still uses them after a restart; rows stored in plaintext before sealing
//! are sealed at start (once); a wrong or loosely kept key stops the start with a clear error;
//! `keys rotate` (also resumed after a crash) leaves nothing under the old key.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use switchboard::secrets::key_file;
use switchboard::secrets::{Keyring, MasterKey};
use switchboard::storage;
use switchboard_actors::automation::Action;
use switchboard_actors::clock::{Clock as _, ManualClock};
use switchboard_actors::store::Store;

const WEBHOOK_SECRET: &str = "whsec-known-plaintext-0001";
const RULE_SECRET: &str = "rule-secret-known-plaintext-0002";

/// SQLite always; PostgreSQL too when the test environment names one.
fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").is_ok() {
        backends.push(Backend::Postgres);
    }
    backends
}

fn now() -> jiff::Timestamp {
    switchboard_actors::clock::Clock::now(&switchboard_actors::clock::SystemClock)
}

/// Raw SQL on the test's database, past the store (and its sealing).
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn connect(db: &TestDb) -> Raw {
        if db.url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqlitePool::connect(&db.url).await.expect("sqlite"))
        } else {
            Raw::Postgres(sqlx::PgPool::connect(&db.url).await.expect("postgres"))
        }
    }

    async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Raw::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        }
        .expect("raw statement");
    }

    /// The first column of every row, as text.
    async fn texts(&self, sql: &str) -> Vec<String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .expect("raw query")
    }

    /// Everything the database holds, as text: on PostgreSQL every row of every table as JSON
    /// (every column); on SQLite the bytes of its files (database, WAL), read as they are on disk.
    async fn everything(&self, db: &TestDb) -> Vec<u8> {
        match self {
            Raw::Sqlite(_) => {
                let path = db.url.strip_prefix("sqlite://").expect("sqlite path");
                let mut bytes = Vec::new();
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    if let Ok(file) = std::fs::read(format!("{path}{suffix}")) {
                        bytes.extend(file);
                    }
                }
                assert!(bytes.len() > 4096, "the database files were read");
                bytes
            }
            Raw::Postgres(_) => {
                let tables = self
                    .texts(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                    )
                    .await;
                assert!(tables.len() > 20, "every table: {tables:?}");
                let mut text = String::new();
                for table in tables {
                    for row in self.texts(&format!("SELECT row_to_json(t)::text FROM \"{table}\" t")).await {
                        text.push_str(&row);
                        text.push('\n');
                    }
                }
                text.into_bytes()
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// The secrets an install holds, written through the API: a webhook subscription's, an
/// automation rule's webhook's, an agent's TOTP seed, and the generated channel secrets.
struct Written {
    webhook: i64,
    rule: i64,
    totp: String,
    channel: Vec<String>,
}

async fn write_secrets(server: &TestServer, clock: &ManualClock) -> Written {
    let admin = server.login("admin@test.example").await;
    let body = json!({"url": "https://93.184.215.14/hook", "events": ["*"], "secret": WEBHOOK_SECRET});
    let (status, webhook) = server.call("POST", "/api/v1/webhooks", Some(&admin), Some(body)).await;
    assert_eq!(status, 201, "{webhook}");
    let rule = json!({"name": "Tell the CRM", "when": {"event": "ticket_created"},
                      "then": [{"webhook": {"url": "https://93.184.215.14/rule", "secret": RULE_SECRET}}]});
    let (status, rule) = server.call("POST", "/api/v1/automations", Some(&admin), Some(rule)).await;
    assert_eq!(status, 201, "{rule}");
    let agent = server.login("agent@test.example").await;
    let (status, enrolment) = server.call("POST", "/api/v1/me/mfa/totp", Some(&agent), None).await;
    assert_eq!(status, 200, "{enrolment}");
    let totp = enrolment["secret"].as_str().expect("secret").to_owned();
    let code = switchboard::auth::mfa::code_at(&totp, clock.now()).expect("code");
    let (status, confirmed) =
        server.call("POST", "/api/v1/me/mfa/totp/confirm", Some(&agent), Some(json!({"code": code}))).await;
    assert_eq!(status, 200, "{confirmed}");
    let channel = channel_secrets(server, &admin).await;
    Written { webhook: webhook["id"].as_i64().expect("id"), rule: rule["id"].as_i64().expect("id"), totp, channel }
}

/// The generated channel secrets, as admins read them.
async fn channel_secrets(server: &TestServer, admin: &str) -> Vec<String> {
    let (status, view) = server.call("GET", "/api/v1/account/channel-secrets", Some(admin), None).await;
    assert_eq!(status, 200, "{view}");
    let values: Vec<String> =
        [&view["whatsapp"]["app_secret"], &view["whatsapp"]["verify_token"], &view["email"]["inbound_secret"]]
            .iter()
            .map(|secret| {
                assert_eq!(secret["generated"], true, "{view}");
                secret["value"].as_str().expect("value").to_owned()
            })
            .collect();
    assert!(values.iter().all(|value| value.len() >= 32), "{values:?}");
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_readable_in_the_database_and_the_hub_uses_them_after_a_restart() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        seed(&*db.open().await).await;
        let clock = Arc::new(ManualClock::new(now()));
        let server = TestServer::start_with_clock(db.settings(), clock.clone()).await;
        let written = write_secrets(&server, &clock).await;
        server.stop().await;

        let raw = Raw::connect(&db).await;
        let everything = raw.everything(&db).await;
        let mut plaintexts = vec![WEBHOOK_SECRET.to_owned(), RULE_SECRET.to_owned(), written.totp.clone()];
        plaintexts.extend(written.channel.iter().cloned());
        for plaintext in &plaintexts {
            assert!(!contains(&everything, plaintext), "{backend:?}: `{plaintext}` is readable in the database");
        }
        // What is there instead: sealed values under this install's key.
        let key = key_file::read(&db.key_file()).expect("key file").expect("created on first run");
        let sealed = format!("sb1:{}:", key.id());
        for stored in raw.texts("SELECT secret FROM webhooks UNION ALL SELECT secret FROM user_totp").await {
            assert!(stored.starts_with(&sealed), "{backend:?}: {stored}");
        }
        for stored in raw.texts("SELECT value FROM generated_secrets").await {
            assert!(stored.starts_with(&sealed), "{backend:?}: {stored}");
        }
        assert!(contains(&everything, &sealed));

        // A restart with the key file: the same secrets, opened.
        clock.advance(jiff::SignedDuration::from_secs(60));
        let server = TestServer::start_with_clock(db.settings(), clock.clone()).await;
        let admin = server.login("admin@test.example").await;
        assert_eq!(channel_secrets(&server, &admin).await, written.channel, "{backend:?}");
        let (status, rules) = server.call("GET", "/api/v1/automations", Some(&admin), None).await;
        assert_eq!(status, 200, "{rules}");
        let rule = rules["items"].as_array().expect("rules").iter().find(|rule| rule["id"] == written.rule);
        let rule = rule.expect("the rule");
        // The API never shows it again (write-only); the store opens it in the clear.
        assert_eq!(rule["then"][0]["webhook"]["secret_set"], true, "{backend:?}: {rule}");
        let (status, webhook) =
            server.call("GET", &format!("/api/v1/webhooks/{}", written.webhook), Some(&admin), None).await;
        assert_eq!(status, 200, "{webhook}");
        let store = db.open().await;
        let account = webhook["account_id"].as_i64().expect("account");
        let stored_rule = store.rule(account, written.rule).await.expect("read").expect("there");
        assert!(
            matches!(&stored_rule.spec.then[0], Action::Webhook { webhook } if webhook.secret == RULE_SECRET),
            "{backend:?}: {stored_rule:?}"
        );
        let subscription = store.webhook(webhook["account_id"].as_i64().expect("account"), written.webhook).await;
        assert_eq!(subscription.expect("read").expect("there").secret, WEBHOOK_SECRET);
        // The agent's second factor still works: the seed opened.
        let code = switchboard::auth::mfa::code_at(&written.totp, clock.now()).expect("code");
        let login = json!({"email": "agent@test.example", "password": PASSWORD, "totp": code});
        let (status, body) = server.call("POST", "/api/v1/auth/login", None, Some(login)).await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        assert!(body["token"].is_string(), "{body}");
        server.stop().await;
    }
}

/// Plaintext rows from before sealing existed, written past the store: a generated secret, a
/// TOTP seed and an automation rule's webhook secret.
async fn write_plaintext_rows(db: &TestDb, store: &Arc<dyn Store>) -> i64 {
    let seeded = seed(&**store).await;
    store.start_totp(seeded.account.id, seeded.agent.id, "placeholder").await.expect("enrolment");
    let spec = json!({"when": {"event": "ticket_created"},
                      "then": [{"note": "n"}, {"webhook": {"url": "https://93.184.215.14/rule", "secret": "placeholder"}}]});
    let rule = switchboard_actors::automation::NewRule {
        account_id: seeded.account.id,
        name: "Legacy".to_owned(),
        enabled: true,
        position: None,
        spec: serde_json::from_value(spec).expect("a rule"),
        created_by: seeded.admin.id,
    };
    let rule = store.create_rule(rule, now()).await.expect("rule");
    let raw = Raw::connect(db).await;
    let plaintext = json!({"when": {"event": "ticket_created"},
                           "then": [{"note": "n"}, {"webhook": {"url": "https://93.184.215.14/rule", "secret": RULE_SECRET}}]});
    raw.execute(&format!("UPDATE automation_rules SET rule = '{plaintext}' WHERE id = {}", rule.id)).await;
    raw.execute(
        "INSERT INTO generated_secrets (name, value, created_at) VALUES ('legacy.secret', 'legacy-plaintext-value', 0)",
    )
    .await;
    raw.execute(&format!("UPDATE user_totp SET secret = 'JBSWY3DPEHPK3PXP' WHERE user_id = {}", seeded.agent.id)).await;
    seeded.agent.id
}

/// The rule's webhook secret is sealed in its row, and the store reads it back in the clear.
async fn assert_rule_secret(raw: &Raw, store: &Arc<dyn Store>) {
    let stored = raw.texts("SELECT rule FROM automation_rules").await;
    assert!(
        stored.len() == 1 && stored[0].contains("\"secret\":\"sb1:") && !stored[0].contains(RULE_SECRET),
        "{stored:?}"
    );
    let account = store.first_account().await.expect("read").expect("account");
    let rules = store.list_rules(account.id).await.expect("rules");
    let switchboard_actors::automation::Action::Webhook { webhook } = &rules[0].spec.then[1] else {
        panic!("the webhook action: {:?}", rules[0].spec.then)
    };
    assert_eq!(webhook.secret, RULE_SECRET);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_stored_in_plaintext_are_sealed_at_start_once() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.open().await;
        let agent = write_plaintext_rows(&db, &store).await;
        let raw = Raw::connect(&db).await;
        assert_eq!(
            raw.texts("SELECT value FROM generated_secrets WHERE name = 'legacy.secret'").await,
            ["legacy-plaintext-value"]
        );

        let opened = storage::open(&db.store_settings()).await.expect("open seals");
        let census = opened.secrets.census().await.expect("census");
        assert_eq!(census.plaintext, 0, "{backend:?}: {census:?}");
        let sealed = raw.texts("SELECT value FROM generated_secrets WHERE name = 'legacy.secret'").await;
        assert!(sealed[0].starts_with("sb1:"), "{sealed:?}");
        let totp = raw.texts(&format!("SELECT secret FROM user_totp WHERE user_id = {agent}")).await;
        assert!(totp[0].starts_with("sb1:") && !totp[0].contains("JBSWY3DPEHPK3PXP"), "{totp:?}");
        assert_eq!(
            opened.store.generated_secret("legacy.secret", "ignored", now()).await.expect("read"),
            "legacy-plaintext-value"
        );
        let enrolment = opened.store.totp_enrolment(agent).await.expect("read").expect("there");
        assert_eq!(enrolment.secret, "JBSWY3DPEHPK3PXP");
        assert_rule_secret(&raw, &opened.store).await;

        // Again: nothing left to seal, nothing rewritten.
        storage::open(&db.store_settings()).await.expect("open again");
        assert_eq!(raw.texts("SELECT value FROM generated_secrets WHERE name = 'legacy.secret'").await, sealed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_loosely_kept_key_stops_the_start_with_a_clear_error() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.open().await;
        store.generated_secret("test.secret", "under-the-file-key", now()).await.expect("write");
        let key = key_file::read(&db.key_file()).expect("read").expect("created");

        let mut settings = db.settings();
        let other = MasterKey::generate();
        settings.security.master_key = switchboard::config::Secret(other.to_base64().to_string());
        let refused = match storage::open(&settings.store_settings().expect("a well-formed key")).await {
            Ok(_) => panic!("{backend:?}: opened with the wrong key"),
            Err(error) => error.to_string(),
        };
        assert!(refused.contains("sealed under a key this node does not have"), "{refused}");
        assert!(refused.contains(&format!("under key {}", key.id())) && refused.contains(other.id()), "{refused}");
        let services = switchboard::app::Services::start(&settings).await.err().expect("the server does not start");
        assert!(format!("{services:#}").contains("sealed under a key this node does not have"), "{services:#}");

        // The same key given as configuration opens it (base64 or hex).
        settings.security.master_key = switchboard::config::Secret(key.to_base64().to_string());
        let opened = storage::open(&settings.store_settings().expect("key")).await.expect("the right key");
        assert_eq!(opened.store.generated_secret("test.secret", "x", now()).await.expect("read"), "under-the-file-key");
    }

    // The key file is refused when others may read it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let db = TestDb::sqlite();
        db.open().await;
        let path = db.key_file();
        let mode = std::fs::metadata(&path).expect("key file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let refused = db.settings().store_settings().err().expect("refused").to_string();
        assert!(refused.contains("chmod 600") && refused.contains("640"), "{refused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_resumes_after_a_crash_and_leaves_nothing_under_the_old_key() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = db.open().await;
        let agent = write_plaintext_rows(&db, &store).await;
        store.generated_secret("test.rotate", "rotate-me-plaintext", now()).await.expect("write");
        let old = key_file::read(&db.key_file()).expect("read").expect("key");

        // A rotation that crashed after re-sealing, before replacing the key file: the pending
        // key is beside it, and the values are under it.
        let pending = MasterKey::generate();
        key_file::write_new(&key_file::pending_path(&db.key_file()), &pending).expect("pending key");
        let both = Keyring::new(pending.clone()).with_readable(old.clone());
        let crashed = storage::open(&db.settings().store_settings_with(both)).await.expect("open");
        crashed.secrets.reseal(false).await.expect("re-seal");
        // A node started meanwhile (old key file, pending key beside it) reads everything.
        let meanwhile = storage::open(&db.store_settings()).await.expect("a node starts mid-rotation");
        let read = meanwhile.store.generated_secret("test.rotate", "x", now()).await.expect("read");
        assert_eq!(read, "rotate-me-plaintext");

        // Run again: it finishes with the pending key.
        let rotated = switchboard::secrets::rotate::rotate(&db.settings()).await.expect("rotate");
        assert_eq!((rotated.new_key.id(), rotated.old_key_id.as_str()), (pending.id(), old.id()));
        assert!(!key_file::pending_path(&db.key_file()).exists());
        assert_eq!(key_file::read(&db.key_file()).expect("read").expect("key"), pending);

        // A fresh rotation: a new key, nothing left under the previous one, and a restart reads all.
        let again = switchboard::secrets::rotate::rotate(&db.settings()).await.expect("rotate again");
        assert_ne!(again.new_key, pending);
        let opened = storage::open(&db.store_settings()).await.expect("restart after the rotation");
        let census = opened.secrets.census().await.expect("census");
        assert_eq!(census.plaintext, 0);
        assert_eq!(census.by_key.keys().collect::<Vec<_>>(), [again.new_key.id()], "{backend:?}: {census:?}");
        assert_eq!(
            opened.store.generated_secret("test.rotate", "x", now()).await.expect("read"),
            "rotate-me-plaintext"
        );
        assert_eq!(
            opened.store.generated_secret("legacy.secret", "x", now()).await.expect("read"),
            "legacy-plaintext-value"
        );
        let enrolment = opened.store.totp_enrolment(agent).await.expect("read").expect("there");
        assert_eq!(enrolment.secret, "JBSWY3DPEHPK3PXP");
        let raw = Raw::connect(&db).await;
        assert_rule_secret(&raw, &opened.store).await;
        let rules = raw.texts("SELECT rule FROM automation_rules").await;
        assert!(rules[0].contains(&format!("sb1:{}:", again.new_key.id())), "{rules:?}");
        // The previous keys open nothing any more.
        for stored in raw.texts("SELECT value FROM generated_secrets UNION ALL SELECT secret FROM user_totp").await {
            assert!(stored.starts_with(&format!("sb1:{}:", again.new_key.id())), "{stored}");
        }
    }
}

#[test]
fn keys_rotate_on_the_command_line_replaces_the_key_file() {
    use std::process::Command;
    let db = TestDb::sqlite();
    let run = |args: &[&str], env: &[(&str, String)]| {
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .env("SWITCHBOARD__DATABASE__URL", &db.url)
            .env("RUST_LOG", "error")
            .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
            .output()
            .expect("run switchboard")
    };
    let text = |output: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    };
    // `config check` makes the generated secrets; then rotate.
    let checked = run(&["config", "check"], &[]);
    assert!(checked.status.success(), "{}", text(&checked));
    let old = key_file::read(&db.key_file()).expect("read").expect("created on first run");
    let rotated = run(&["keys", "rotate"], &[]);
    assert!(rotated.status.success(), "{}", text(&rotated));
    let new = key_file::read(&db.key_file()).expect("read").expect("replaced");
    assert_ne!(new, old);
    let said = text(&rotated);
    assert!(said.contains(&format!("under the new master key {}", new.id())) && said.contains(old.id()), "{said}");
    // The hub starts on the new key file and still has its secrets.
    let again = run(&["config", "check"], &[]);
    assert!(again.status.success(), "{}", text(&again));
    let said = text(&again);
    assert!(said.contains(&format!("sealed under master key {} from the key file", new.id())), "{said}");
    // A wrong configured key: a clear error, exit status 1; a malformed one: 2.
    let wrong = run(&["migrate"], &[("SWITCHBOARD__SECURITY__MASTER_KEY", old.to_base64().to_string())]);
    assert!(!wrong.status.success());
    assert!(text(&wrong).contains("sealed under a key this node does not have"), "{}", text(&wrong));
    // Rotating with the wrong key is refused before anything is written.
    let refused = run(&["keys", "rotate"], &[("SWITCHBOARD__SECURITY__MASTER_KEY", old.to_base64().to_string())]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("sealed under a key this node does not have"), "{}", text(&refused));
    assert!(!key_file::pending_path(&db.key_file()).exists(), "no pending key was written");
    assert_eq!(key_file::read(&db.key_file()).expect("read").expect("kept"), new);
    let malformed = run(&["migrate"], &[("SWITCHBOARD__SECURITY__MASTER_KEY", "c2hvcnQ=".to_owned())]);
    assert_eq!(malformed.status.code(), Some(2), "{}", text(&malformed));
    assert!(text(&malformed).contains("security.master_key: the master key must be 32 bytes"), "{}", text(&malformed));
}
