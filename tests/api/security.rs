//! MFA with TOTP and sessions (issue 17 items 1–2): enrolment, login with a code or a recovery
//! code, turning it off, the staff MFA policy, session idle timeout and lifetime on a manual
//! clock, and the session list with revocation closing the session's sockets. Both backends.

use std::time::Duration;

use jiff::SignedDuration;
use switchboard::auth::mfa;
use switchboard_actors::clock::{Clock as _, ManualClock};

use super::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const WAIT: Duration = Duration::from_secs(5);

/// `POST /auth/login` with these fields; status and body.
async fn login_with(desk: &Desk, email: &str, password: &str, totp: Option<&str>) -> (u16, Value) {
    let mut body = json!({"email": email, "password": password});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    desk.server.call("POST", "/api/v1/auth/login", None, Some(body)).await
}

/// A six-digit code that is not the current one (nor its neighbours').
fn wrong_code(secret: &str, clock: &ManualClock) -> String {
    let taken: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|offset| {
            let at = clock.now().checked_add(SignedDuration::from_secs(*offset)).expect("time");
            mfa::code_at(secret, at).expect("code")
        })
        .collect();
    (0..10).map(|digit| digit.to_string().repeat(6)).find(|code| !taken.contains(code)).expect("a free code")
}

fn step(clock: &ManualClock) {
    clock.advance(SignedDuration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enrol_confirm_login_recovery_and_disable() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let agent = desk.login("agent@test.example").await;
        let customer = desk.login("cust@test.example").await;

        // Customers have no MFA (they prove themselves with emailed codes).
        let (status, body) = desk.call("POST", "/api/v1/me/mfa/totp", &customer, None).await;
        assert_error((status, &body), 403, "forbidden");
        let (status, body) = desk.server.call("POST", "/api/v1/me/mfa/totp", None, None).await;
        assert_error((status, &body), 401, "unauthenticated");
        let (status, body) =
            desk.call("POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": "123456"}))).await;
        assert_error((status, &body), 409, "mfa_not_enrolled");

        let enrolment = desk.expect(200, "POST", "/api/v1/me/mfa/totp", &agent, None).await;
        let secret = enrolment["secret"].as_str().expect("secret").to_owned();
        let uri = enrolment["otpauth_uri"].as_str().expect("uri");
        assert!(uri.starts_with("otpauth://totp/Switchboard:agent%40test.example?secret="), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")), "{uri}");
        assert!(enrolment["qr_svg"].as_str().is_some_and(|svg| svg.contains("<svg")), "{enrolment}");
        // Not on until confirmed: a password still logs in.
        let me = desk.expect(200, "GET", "/api/v1/me", &agent, None).await;
        assert_eq!((&me["mfa_enabled"], &me["email"]), (&json!(false), &json!("agent@test.example")));
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, None).await;
        assert_eq!(status, 200, "{body}");

        // A wrong code or a bad body changes nothing.
        let wrong = wrong_code(&secret, &clock);
        let (status, body) =
            desk.call("POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": wrong}))).await;
        assert_error((status, &body), 401, "invalid_mfa_code");
        let (status, body) = desk.call("POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({}))).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &agent, None).await["mfa_enabled"], json!(false));

        let code = mfa::code_at(&secret, clock.now()).expect("code");
        let confirmed =
            desk.expect(200, "POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": code}))).await;
        let recovery: Vec<String> = confirmed["recovery_codes"]
            .as_array()
            .expect("codes")
            .iter()
            .map(|code| code.as_str().expect("code").to_owned())
            .collect();
        assert_eq!(recovery.len(), 10);
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &agent, None).await["mfa_enabled"], json!(true));
        let (status, body) =
            desk.call("POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": code}))).await;
        assert_error((status, &body), 409, "mfa_already_enabled");
        let (status, body) = desk.call("POST", "/api/v1/me/mfa/totp", &agent, None).await;
        assert_error((status, &body), 409, "mfa_already_enabled");

        // Login: the password first (a wrong one says nothing about MFA), then the code.
        let (status, body) = login_with(&desk, "agent@test.example", "wrong-password", None).await;
        assert_error((status, &body), 401, "invalid_credentials");
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, None).await;
        assert_error((status, &body), 401, "mfa_required");
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&wrong)).await;
        assert_error((status, &body), 401, "invalid_mfa_code");
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&code)).await;
        assert_error((status, &body), 401, "invalid_mfa_code");
        step(&clock);
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&code)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["mfa_enrolment_required"], json!(false));
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&code)).await;
        assert_error((status, &body), 401, "invalid_mfa_code");

        // A recovery code works once, in any case and grouping.
        let spaced = recovery[0].replace('-', " ").to_uppercase();
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&spaced)).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&recovery[0])).await;
        assert_error((status, &body), 401, "invalid_mfa_code");
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &agent, None).await["recovery_codes_left"], json!(9));

        // Turning it off takes a current code.
        let (status, body) = desk.call("DELETE", "/api/v1/me/mfa", &agent, Some(json!({"code": wrong}))).await;
        assert_error((status, &body), 401, "invalid_mfa_code");
        let (status, body) = desk.call("DELETE", "/api/v1/me/mfa", &agent, None).await;
        assert!(status == 400 || status == 415 || status == 422, "no code: {status} {body}");
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &agent, None).await["mfa_enabled"], json!(true));
        let (status, body) = desk.call("DELETE", "/api/v1/me/mfa", &customer, Some(json!({"code": "123456"}))).await;
        assert_error((status, &body), 403, "forbidden");
        step(&clock);
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        desk.expect(204, "DELETE", "/api/v1/me/mfa", &agent, Some(json!({"code": code}))).await;
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &agent, None).await["mfa_enabled"], json!(false));
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, None).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = desk.call("DELETE", "/api/v1/me/mfa", &agent, Some(json!({"code": code}))).await;
        assert_error((status, &body), 409, "mfa_not_enrolled");
        let (status, body) = desk.call("DELETE", "/api/v1/me/mfa/totp", &agent, Some(json!({"code": code}))).await;
        assert_error((status, &body), 409, "mfa_not_enrolled");
        desk.stop().await;
    }
}

/// Wrong codes count like wrong passwords: after the free failures the pair waits (429), with
/// the right code too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_mfa_codes_are_rate_limited_like_passwords() {
    let clock = manual_clock();
    let desk = Desk::start_tuned(Backend::Sqlite, clock.clone(), |_| {}).await;
    let agent = desk.login("agent@test.example").await;
    let secret = desk.expect(200, "POST", "/api/v1/me/mfa/totp", &agent, None).await["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let code = mfa::code_at(&secret, clock.now()).expect("code");
    desk.expect(200, "POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": code}))).await;
    step(&clock);
    let wrong = wrong_code(&secret, &clock);
    for _ in 0..3 {
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&wrong)).await;
        assert_error((status, &body), 401, "invalid_mfa_code");
    }
    let right = mfa::code_at(&secret, clock.now()).expect("code");
    let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&right)).await;
    assert_error((status, &body), 429, "rate_limited");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, Some(&right)).await;
    assert_eq!(status, 200, "the right code after the wait: {body}");
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_mfa_policy_flags_staff_without_mfa() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let defaults =
            json!({"staff_mfa_required": false, "session_idle_minutes": null, "session_lifetime_hours": null});
        assert_eq!(desk.expect(200, "GET", "/api/v1/account/security", &admin, None).await, defaults);
        let (status, body) = desk.call("GET", "/api/v1/account/security", &agent, None).await;
        assert_error((status, &body), 403, "forbidden");
        let required = json!({"staff_mfa_required": true});
        let (status, body) = desk.call("PUT", "/api/v1/account/security", &agent, Some(required.clone())).await;
        assert_error((status, &body), 403, "forbidden");
        for (bad, field) in [
            (json!({"session_idle_minutes": 1}), "session_idle_minutes"),
            (json!({"session_lifetime_hours": 0}), "session_lifetime_hours"),
        ] {
            let (status, body) = desk.call("PUT", "/api/v1/account/security", &admin, Some(bad)).await;
            assert_invalid((status, &body), field);
        }
        let (status, body) = desk.call("PUT", "/api/v1/account/security", &admin, Some(json!({"mfa": true}))).await;
        assert!(status == 400 || status == 422, "an unknown field: {status} {body}");
        assert_eq!(desk.expect(200, "GET", "/api/v1/account/security", &admin, None).await, defaults, "unchanged");

        desk.expect(200, "PUT", "/api/v1/account/security", &admin, Some(required)).await;
        let (status, body) = login_with(&desk, "agent@test.example", PASSWORD, None).await;
        assert_eq!((status, &body["mfa_enrolment_required"]), (200, &json!(true)), "{body}");
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &agent, None).await["mfa_enrolment_required"], json!(true));
        let (status, body) = login_with(&desk, "cust@test.example", PASSWORD, None).await;
        assert_eq!((status, &body["mfa_enrolment_required"]), (200, &json!(false)), "customers are not staff");

        // Enrolled, the flag goes.
        let secret = desk.expect(200, "POST", "/api/v1/me/mfa/totp", &agent, None).await["secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        desk.expect(200, "POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": code}))).await;
        let me = desk.expect(200, "GET", "/api/v1/me", &agent, None).await;
        assert_eq!((&me["mfa_enabled"], &me["mfa_enrolment_required"]), (&json!(true), &json!(false)));
        desk.stop().await;
    }
}

/// With "staff must use MFA" on, a staff member without MFA reaches only who they are, MFA
/// enrolment, their own preferences and sessions, and logout: every other route (and their API
/// keys, and the WebSocket) answers 403 `mfa_enrolment_required` until they enrol. Customers
/// are not held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_without_mfa_reach_only_enrolment_while_the_policy_requires_it() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        let body = json!({"name": "Agent's CRM", "scopes": ["tickets:read"]});
        let key = desk.expect(201, "POST", "/api/v1/api-keys", &agent, Some(body)).await["key"]
            .as_str()
            .expect("key")
            .to_owned();
        desk.expect(200, "GET", "/api/v1/tickets", &key, None).await;
        let policy = json!({"staff_mfa_required": true});
        desk.expect(200, "PUT", "/api/v1/account/security", &admin, Some(policy)).await;

        for token in [&agent, &key, &admin] {
            let (status, body) = desk.call("GET", "/api/v1/tickets", token, None).await;
            assert_error((status, &body), 403, "mfa_enrolment_required");
            assert!(body["message"].as_str().is_some_and(|message| message.contains("/me/mfa/totp")), "{body}");
        }
        let (status, body) = desk.call("GET", "/api/v1/account/security", &admin, None).await;
        assert_error((status, &body), 403, "mfa_enrolment_required");
        let body = json!({"subject": "Held back", "body": "x", "requester_id": desk.seeded.customer.id});
        let (status, refused) = desk.call("POST", "/api/v1/tickets", &agent, Some(body)).await;
        assert_error((status, &refused), 403, "mfa_enrolment_required");
        let refused = WsClient::connect_with(&desk.server.base, &format!("/api/v1/ws?token={agent}"), &[]).await;
        assert_eq!(refused.err(), Some(403), "no socket either");
        // What stays open: who they are, their preferences and sessions.
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &agent, None).await["mfa_enrolment_required"], json!(true));
        desk.expect(200, "GET", "/api/v1/me/preferences", &agent, None).await;
        desk.expect(200, "GET", "/api/v1/me/sessions", &agent, None).await;
        // Customers are not staff.
        desk.expect(200, "GET", "/api/v1/tickets", &customer, None).await;

        // Enrolled, the agent (and the agent's key) work again; the admin is still held back.
        let secret = desk.expect(200, "POST", "/api/v1/me/mfa/totp", &agent, None).await["secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        desk.expect(200, "POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": code}))).await;
        desk.expect(200, "GET", "/api/v1/tickets", &agent, None).await;
        desk.expect(200, "GET", "/api/v1/tickets", &key, None).await;
        WsClient::connect(&desk.server.base, &agent).await;
        let (status, body) = desk.call("GET", "/api/v1/users", &admin, None).await;
        assert_error((status, &body), 403, "mfa_enrolment_required");
        // Logging out stays possible.
        let (status, _) = desk.call("POST", "/api/v1/auth/logout", &admin, None).await;
        assert_eq!(status, 204);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_idle_out_and_end_after_their_lifetime() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let admin = desk.login("admin@test.example").await;
        let policy = json!({"session_idle_minutes": 30, "session_lifetime_hours": 8});
        desk.expect(200, "PUT", "/api/v1/account/security", &admin, Some(policy)).await;
        let agent_id = desk.seeded.agent.id;
        let issued =
            desk.expect(201, "POST", &format!("/api/v1/users/{agent_id}/tokens"), &admin, Some(json!({}))).await;
        let api_token = issued["token"].as_str().expect("token").to_owned();

        // Idle: used within 30 minutes it lives on; left for 30 it ends, and its socket closes at
        // the request that finds it ended.
        let agent = desk.login("agent@test.example").await;
        for _ in 0..3 {
            clock.advance(SignedDuration::from_mins(29));
            desk.expect(200, "GET", "/api/v1/me", &agent, None).await;
        }
        let mut socket = WsClient::connect(&desk.server.base, &agent).await;
        clock.advance(SignedDuration::from_mins(30));
        let (status, body) = desk.call("GET", "/api/v1/me", &agent, None).await;
        assert_error((status, &body), 401, "unauthenticated");
        assert_eq!(socket.close_code(WAIT).await, Some(4001), "the ended session's socket closes");
        let refused = WsClient::connect_with(&desk.server.base, &format!("/api/v1/ws?token={agent}"), &[]).await;
        assert_eq!(refused.err(), Some(401), "and it opens no other");

        // Lifetime: used every 20 minutes, it still ends 8 hours after the login.
        let agent = desk.login("agent@test.example").await;
        for _ in 0..23 {
            clock.advance(SignedDuration::from_mins(20));
            desk.expect(200, "GET", "/api/v1/me", &agent, None).await;
        }
        clock.advance(SignedDuration::from_mins(20));
        let (status, body) = desk.call("GET", "/api/v1/me", &agent, None).await;
        assert_error((status, &body), 401, "unauthenticated");

        // An admin-issued API token follows only its own expiry.
        desk.expect(200, "GET", "/api/v1/me", &api_token, None).await;
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_revoking_one_closes_its_sockets() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let login = json!({"email": "agent@test.example", "password": PASSWORD}).to_string().into_bytes();
        let headers = [("content-type", "application/json"), ("user-agent", FIREFOX)];
        let answer = desk.raw("POST", "/api/v1/auth/login", &headers, Some(login)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let laptop = answer.body["token"].as_str().expect("token").to_owned();
        let phone = desk.login("agent@test.example").await;
        let admin = desk.login("admin@test.example").await;

        let listed = desk.expect(200, "GET", "/api/v1/me/sessions", &laptop, None).await;
        let items = listed["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "{listed}");
        let current: Vec<&Value> = items.iter().filter(|item| item["current"] == json!(true)).collect();
        assert_eq!(current.len(), 1);
        assert_eq!((&current[0]["device"], &current[0]["ip"]), (&json!("Firefox on Linux"), &json!("127.0.0.1")));
        assert_eq!(current[0]["kind"], json!("login"));
        for key in ["id", "created_at", "last_seen_at", "expires_at", "user_agent"] {
            assert!(current[0].get(key).is_some(), "{key} in {listed}");
        }
        assert!(!listed.to_string().contains(&laptop), "tokens are never listed");
        let phone_id = items.iter().find(|item| item["current"] == json!(false)).expect("the other")["id"]
            .as_str()
            .expect("id")
            .to_owned();

        // Nobody else's session can be ended by its id; an unknown id is 404.
        let (status, body) = desk.call("DELETE", &format!("/api/v1/me/sessions/{phone_id}"), &admin, None).await;
        assert_error((status, &body), 404, "not_found");
        let (status, body) = desk.call("DELETE", "/api/v1/me/sessions/no-such-session", &laptop, None).await;
        assert_error((status, &body), 404, "not_found");
        let (status, body) = desk.server.call("GET", "/api/v1/me/sessions", None, None).await;
        assert_error((status, &body), 401, "unauthenticated");
        desk.expect(200, "GET", "/api/v1/me", &phone, None).await;

        // Revoking ends the session and closes its socket; the others stay.
        let mut phone_socket = WsClient::connect(&desk.server.base, &phone).await;
        let mut laptop_socket = WsClient::connect(&desk.server.base, &laptop).await;
        desk.expect(204, "DELETE", &format!("/api/v1/me/sessions/{phone_id}"), &laptop, None).await;
        assert_eq!(phone_socket.close_code(WAIT).await, Some(4001), "the revoked session's socket closes");
        let (status, body) = desk.call("GET", "/api/v1/me", &phone, None).await;
        assert_error((status, &body), 401, "unauthenticated");
        laptop_socket.send(json!({"type": "ping"})).await;
        assert_eq!(laptop_socket.expect("pong", WAIT).await["type"], "pong", "the other session's socket stays");
        let listed = desk.expect(200, "GET", "/api/v1/me/sessions", &laptop, None).await;
        assert_eq!(listed["items"].as_array().expect("items").len(), 1);

        // Customers see and end their own sessions too.
        let customer = desk.login("cust@test.example").await;
        let theirs = desk.expect(200, "GET", "/api/v1/me/sessions", &customer, None).await;
        assert_eq!(theirs["items"].as_array().expect("items").len(), 1);
        desk.stop().await;
    }
}

/// A password-reset link proves no second factor: for a user with MFA on it sets the password
/// but starts no session (`mfa_required`); the password and a code then log in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_does_not_skip_the_second_factor() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let agent = desk.login("agent@test.example").await;
        let secret = desk.expect(200, "POST", "/api/v1/me/mfa/totp", &agent, None).await["secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        desk.expect(200, "POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": code}))).await;

        let forgot = json!({"email": "agent@test.example"});
        assert_eq!(desk.server.call("POST", "/api/v1/auth/forgot", None, Some(forgot)).await.0, 202);
        let admin = desk.login("admin@test.example").await;
        let path = format!("/sandbox/mail/messages?address={}", encoded("agent@test.example"));
        let list = desk.expect(200, "GET", &path, &admin, None).await;
        let text =
            list["items"].as_array().expect("mails").last().expect("a mail")["text"].as_str().expect("text").to_owned();
        let at = text.find("token=").expect("a link with a token") + "token=".len();
        let token = text[at..].split_whitespace().next().expect("token");
        let reset = json!({"token": token, "password": "a-brand-new-password"});
        let (status, body) = desk.server.call("POST", "/api/v1/auth/reset", None, Some(reset)).await;
        assert_error((status, &body), 401, "mfa_required");
        let (status, body) = login_with(&desk, "agent@test.example", "a-brand-new-password", None).await;
        assert_error((status, &body), 401, "mfa_required");
        step(&clock);
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        let (status, body) = login_with(&desk, "agent@test.example", "a-brand-new-password", Some(&code)).await;
        assert_eq!(status, 200, "{body}");
        desk.stop().await;
    }
}
