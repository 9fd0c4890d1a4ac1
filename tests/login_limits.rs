//! Login as an attacker would use it (issue 10, item 6): a flood of wrong passwords must neither
//! exhaust the server's memory nor keep other people out, failures elsewhere must not lock a user
//! out of the right password, and the answers must not tell which emails exist.
//!
//! Clients pick their source address on the loopback network (`127.0.0.2` the attacker,
//! `127.0.0.3` the legitimate user), so the per-address limits see two different clients.
//! The tests run one at a time: two of them measure time and memory, which a neighbour hashing
//! passwords on the same two cores would distort.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use switchboard_actors::domain::Role;
use switchboard_actors::store::NewUser;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ATTACKER: &str = "127.0.0.2";
const USER: &str = "127.0.0.3";
/// The bound: 100 concurrent wrong-password logins must not add more than this.
const MAX_RSS_GROWTH_KB: u64 = 150 * 1024;
/// …and a correct login sent during them must succeed within this.
const MAX_LOGIN_DURING_ATTACK: Duration = Duration::from_secs(2);

/// An agent of the seeded account (`password_hash` `None`: invited, no password yet).
fn agent(seeded: &Seeded, email: &str, password_hash: Option<String>) -> NewUser {
    NewUser {
        account_id: seeded.account.id,
        email: email.to_owned(),
        name: email.split('@').next().unwrap_or(email).to_owned(),
        role: Role::Agent,
        password_hash,
        company_id: None,
        team_ids: Vec::new(),
        capacity: 5,
        time_zone: "UTC".to_owned(),
        phone: None,
    }
}

/// A client whose connections come from `source`.
fn client_from(source: &str) -> reqwest::Client {
    switchboard::install_tls_provider();
    reqwest::Client::builder().local_address(source.parse::<IpAddr>().expect("an address")).build().expect("client")
}

struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
    took: Duration,
}

async fn log_in(client: &reqwest::Client, base: &str, email: &str, password: &str) -> Answer {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|value| value.to_str().expect("ascii").parse::<u64>().expect("Retry-After in seconds"));
    let body = response.json::<Value>().await.expect("a JSON body");
    Answer { status, body, retry_after, took: started.elapsed() }
}

/// A rate-limited answer: 429 `rate_limited` with a positive `Retry-After`.
#[track_caller]
fn assert_rate_limited(answer: &Answer) {
    assert_eq!((answer.status, answer.body["error"].as_str()), (429, Some("rate_limited")), "{}", answer.body);
    assert!(answer.retry_after.is_some_and(|secs| secs >= 1), "429 without Retry-After: {}", answer.body);
}

/// `VmRSS` or `VmHWM` (peak) of a process, in kB.
fn memory_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
    let line = status.lines().find(|line| line.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).unwrap_or_else(|| panic!("bad line {line}"))
}

/// Users an attack aims at: real accounts, so each wrong guess costs a real password check.
const VICTIMS: usize = 100;

fn victim(n: usize) -> String {
    format!("victim-{n}@test.example")
}

/// A seeded hub with [`VICTIMS`] more users, as a child process, so its memory is its own.
async fn child_hub() -> (TestDb, tempfile::TempDir, ChildServer) {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let seeded = seed(&*store).await;
    let hash = switchboard::auth::hash_password(PASSWORD).expect("hash");
    for n in 0..VICTIMS {
        store.create_user(agent(&seeded, &victim(n), Some(hash.clone()))).await.expect("a victim");
    }
    let logs = tempfile::tempdir().expect("log dir");
    let server = ChildServer::start(&db, logs.path()).await;
    (db, logs, server)
}

/// Starts the peak-RSS measurement at the current RSS: the peak of the attack, not of startup.
/// (`clear_refs` 5 resets `VmHWM`; where it is not allowed, the startup peak counts too, which
/// only makes the check stricter.)
fn reset_peak(pid: u32) -> u64 {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    memory_kb(pid, "VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_passwords_neither_exhausts_memory_nor_keeps_a_user_out() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (_db, _logs, server) = child_hub().await;
    let pid = server.pid();
    let before = reset_peak(pid);

    // 100 concurrent wrong passwords from one address, each at another user, so the per-email
    // delays play no part: the per-address limit and the password pool must.
    let attacker = client_from(ATTACKER);
    let attack: Vec<_> = (0..VICTIMS)
        .map(|n| {
            let (attacker, base) = (attacker.clone(), server.base.clone());
            tokio::spawn(async move { log_in(&attacker, &base, &victim(n), "wrong-password").await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let user = log_in(&client_from(USER), &server.base, "agent@test.example", PASSWORD).await;
    let mut refused = 0;
    let mut limited = 0;
    for attempt in attack {
        let answer = attempt.await.expect("attempt");
        match answer.status {
            401 => refused += 1,
            _ => {
                assert_rate_limited(&answer);
                limited += 1;
            }
        }
    }
    let peak = memory_kb(pid, "VmHWM");
    let after = memory_kb(pid, "VmRSS");
    let growth = peak.saturating_sub(before);
    eprintln!(
        "RSS before {before} kB, peak {peak} kB (+{growth} kB), after {after} kB; the user's login took {:?}; \
         attack: {refused} refused, {limited} rate-limited",
        user.took
    );
    assert_eq!(user.status, 200, "the user's login failed: {}", user.body);
    assert!(user.took < MAX_LOGIN_DURING_ATTACK, "the user's login took {:?}", user.took);
    assert!(growth < MAX_RSS_GROWTH_KB, "RSS grew by {growth} kB during the attack");
    assert!(limited > 0 && refused > 0, "{refused} refused, {limited} rate-limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_many_addresses_is_bounded_by_the_password_pool() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (_db, _logs, server) = child_hub().await;
    let pid = server.pid();
    let before = reset_peak(pid);

    // One attempt from each of 100 addresses: no per-address limit applies, so every one reaches
    // the password pool, whose few threads are all the memory hashing may take.
    let attack: Vec<_> = (0..VICTIMS)
        .map(|n| {
            let (attacker, base) = (client_from(&format!("127.0.1.{}", n + 1)), server.base.clone());
            tokio::spawn(async move { log_in(&attacker, &base, &victim(n), "wrong-password").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attack {
        let answer = attempt.await.expect("attempt");
        if answer.status != 401 {
            assert_rate_limited(&answer);
        }
        statuses.push(answer.status);
    }
    let growth = memory_kb(pid, "VmHWM").saturating_sub(before);
    eprintln!("RSS +{growth} kB; statuses {statuses:?}");
    assert!(growth < MAX_RSS_GROWTH_KB, "RSS grew by {growth} kB during the attack");
    assert!(statuses.contains(&401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_another_address_do_not_lock_the_user_out() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let attacker = client_from(ATTACKER);
    let mut answers = Vec::new();
    for _ in 0..12 {
        answers.push(log_in(&attacker, &server.base, "agent@test.example", "guess").await);
    }
    assert!(answers[..3].iter().all(|answer| answer.status == 401));
    answers[3..].iter().for_each(assert_rate_limited);
    // The attacker's address waits even with the right password…
    assert_rate_limited(&log_in(&attacker, &server.base, "agent@test.example", PASSWORD).await);
    // …the user, elsewhere, logs in at once.
    let user = log_in(&client_from(USER), &server.base, "agent@test.example", PASSWORD).await;
    assert_eq!(user.status, 200, "{}", user.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_gets_429_with_retry_after() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let db = TestDb::sqlite();
    seed(&*db.open().await).await;
    let server = TestServer::start(db.settings()).await;
    let burst = switchboard::config::Settings::default().auth.address_login_burst as usize;
    let attacker = client_from(ATTACKER);
    // At once, a different email each time: only the per-address limit can stop it.
    let flood: Vec<_> = (0..burst + 10)
        .map(|n| {
            let (attacker, base) = (attacker.clone(), server.base.clone());
            tokio::spawn(async move { log_in(&attacker, &base, &format!("guess-{n}@test.example"), "guess").await })
        })
        .collect();
    let (mut refused, mut limited) = (0, 0);
    for attempt in flood {
        let answer = attempt.await.expect("attempt");
        if answer.status == 401 {
            refused += 1;
            continue;
        }
        assert_rate_limited(&answer);
        let wait = answer.retry_after.unwrap_or_default();
        assert!((1..=3).contains(&wait), "at 20 a minute the next attempt is due within 3 s, not {wait}");
        limited += 1;
    }
    assert!(refused <= burst && limited >= 10, "{refused} refused, {limited} rate-limited");
    // Another address is not limited.
    let user = log_in(&client_from(USER), &server.base, "agent@test.example", PASSWORD).await;
    assert_eq!(user.status, 200, "{}", user.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_emails_and_wrong_passwords_answer_alike_in_the_same_time() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let db = TestDb::sqlite();
    let store = db.open().await;
    let seeded = seed(&*store).await;
    store.create_user(agent(&seeded, "invited@test.example", None)).await.expect("an invited agent");
    let server = TestServer::start(db.settings()).await;
    let client = client_from(USER);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    // Interleaved, so a slow moment of the machine hits both kinds alike.
    let known_emails = ["admin@test.example", "sup@test.example", "agent@test.example", "cust@test.example"];
    let unknown_emails = ["nobody@test.example", "invited@test.example", "ghost@test.example", "x@test.example"];
    for (known_email, unknown_email) in known_emails.into_iter().zip(unknown_emails) {
        known.push(log_in(&client, &server.base, known_email, "wrong-password").await);
        unknown.push(log_in(&client, &server.base, unknown_email, "wrong-password").await);
    }
    for answer in known.iter().chain(&unknown) {
        assert_eq!((answer.status, &answer.body), (known[0].status, &known[0].body));
    }
    assert_eq!(known[0].status, 401);
    assert_eq!(known[0].body["error"], "invalid_credentials");
    let median = |answers: &[Answer]| {
        let mut took: Vec<Duration> = answers.iter().map(|answer| answer.took).collect();
        took.sort();
        took[took.len() / 2]
    };
    let (known, unknown) = (median(&known), median(&unknown));
    eprintln!("median answer: wrong password {known:?}, unknown email {unknown:?}");
    // Same argon2 run either way: an unknown email must not answer markedly faster.
    assert!(unknown * 2 > known, "unknown emails answer in {unknown:?}, wrong passwords in {known:?}");
    server.stop().await;
}
