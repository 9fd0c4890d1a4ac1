//! Single sign-on for staff with OpenID Connect (issue 17 item 3) against the loopback provider
//! of `common/fake_oidc.rs`, on both backends: the settings (admins only, the secret never
//! shown, the issuer checked by discovery), a sign-in by verified email ending in the same
//! session a password gives, every refusal (unverified or unknown email, a customer, a forged,
//! replayed or foreign-browser state, a wrong nonce or audience, a token expired on the hub's
//! clock, the provider's own refusal), "SSO only for staff" closing the password ways in for
//! agents but not for admins or customers, and the audit entries of all of it.

use jiff::SignedDuration;
use switchboard_actors::clock::Clock as _;
use switchboard_actors::domain::Role;

use super::common::fake_oidc::{CLIENT_ID, CLIENT_SECRET, FakeOidc, Script};
use super::*;

/// A browser that does not follow redirects, so each hop is seen.
fn browser() -> reqwest::Client {
    switchboard::install_tls_provider();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").and_then(|value| value.to_str().ok()).expect("a Location").to_owned()
}

/// The value of the cookie `name` a response sets.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get_all("set-cookie").iter().filter_map(|value| value.to_str().ok()).find_map(|header| {
        let (pair, _) = header.split_once(';').unwrap_or((header, ""));
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// A sign-in started and sent through the provider: the callback URL it sends the browser back
/// to, and the browser's sign-in cookie.
async fn through_provider(desk: &Desk, account: i64) -> (String, String) {
    let http = browser();
    let started =
        http.get(desk.server.url(&format!("/api/v1/auth/sso/start?account={account}"))).send().await.expect("start");
    assert_eq!(started.status().as_u16(), 303);
    let to_provider = location(&started);
    let binding = cookie(&started, "switchboard_sso").expect("the sign-in cookie");
    let authorized = http.get(&to_provider).send().await.expect("authorize");
    assert_eq!(authorized.status().as_u16(), 303, "{:?}", authorized.text().await);
    let back = location(&authorized);
    assert!(back.starts_with(&desk.server.url("/api/v1/auth/sso/callback?")), "{back}");
    (back, binding)
}

/// The callback in the browser holding `binding`: `Ok(session token)`, or `Err(sso_error code)`.
async fn come_back(back: &str, binding: Option<&str>) -> Result<String, String> {
    let mut request = browser().get(back);
    if let Some(binding) = binding {
        request = request.header("cookie", format!("switchboard_sso={binding}"));
    }
    let answer = request.send().await.expect("callback");
    assert_eq!(answer.status().as_u16(), 303);
    let to = location(&answer);
    match to.strip_prefix("/agent?sso_error=") {
        Some(code) => {
            assert_eq!(cookie(&answer, "switchboard_session"), None, "a failure sets no session");
            Err(code.to_owned())
        }
        None => {
            assert_eq!(to, "/agent");
            Ok(cookie(&answer, "switchboard_session").expect("the session cookie"))
        }
    }
}

/// One whole sign-in with the provider scripted so.
async fn sign_in(desk: &Desk, provider: &FakeOidc, script: Script) -> Result<String, String> {
    provider.script(script);
    let (back, binding) = through_provider(desk, desk.seeded.account.id).await;
    come_back(&back, Some(&binding)).await
}

fn provider_settings(provider: &FakeOidc, only: bool) -> Value {
    json!({"issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
           "enabled": true, "sso_only_for_staff": only})
}

async fn audit(desk: &Desk, admin: &str, action: &str) -> Vec<Value> {
    let page = desk.expect(200, "GET", &format!("/api/v1/audit?limit=200&action={action}"), admin, None).await;
    page["items"].as_array().expect("items").clone()
}

async fn password_login(desk: &Desk, email: &str) -> (u16, Value) {
    desk.server.call("POST", "/api/v1/auth/login", None, Some(json!({"email": email, "password": PASSWORD}))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_for_admins_the_secret_is_never_shown_and_the_issuer_is_discovered() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let provider = FakeOidc::start(clock.clone());
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;

        let empty = desk.expect(200, "GET", "/api/v1/account/sso", &admin, None).await;
        assert_eq!(
            (&empty["configured"], &empty["enabled"], &empty["client_secret_set"]),
            (&json!(false), &json!(false), &json!(false))
        );
        assert_eq!(empty["redirect_uri"], json!(desk.server.url("/api/v1/auth/sso/callback")));

        // Agents, supervisors, customers and strangers are refused, and change nothing.
        let supervisor = desk.login("sup@test.example").await;
        for token in [&agent, &supervisor, &customer] {
            assert_error(desk.call("GET", "/api/v1/account/sso", token, None).await.as_pair(), 403, "forbidden");
            let put = desk.call("PUT", "/api/v1/account/sso", token, Some(provider_settings(&provider, false))).await;
            assert_error(put.as_pair(), 403, "forbidden");
        }
        let anonymous = desk.server.call("GET", "/api/v1/account/sso", None, None).await;
        assert_error(anonymous.as_pair(), 401, "unauthenticated");
        let status = desk.server.call("GET", "/api/v1/auth/sso", None, None).await.1;
        assert_eq!(status["enabled"], json!(false), "{status}");

        // Bad input: a clear error, nothing saved.
        let mut plain_http = provider_settings(&provider, false);
        plain_http["issuer"] = json!("http://id.example");
        assert_invalid(desk.call("PUT", "/api/v1/account/sso", &admin, Some(plain_http)).await.as_pair(), "issuer");
        let mut only_without_sso = provider_settings(&provider, true);
        only_without_sso["enabled"] = json!(false);
        let refused = desk.call("PUT", "/api/v1/account/sso", &admin, Some(only_without_sso)).await;
        assert_invalid(refused.as_pair(), "sso_only_for_staff");
        let mut nobody_there = provider_settings(&provider, false);
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
        nobody_there["issuer"] = json!(format!("http://{closed}"));
        let refused = desk.call("PUT", "/api/v1/account/sso", &admin, Some(nobody_there.clone())).await;
        assert_error(refused.as_pair(), 422, "sso_discovery_failed");
        let mut unknown_field = provider_settings(&provider, false);
        unknown_field["extra"] = json!(1);
        assert_eq!(desk.call("PUT", "/api/v1/account/sso", &admin, Some(unknown_field)).await.0, 422);
        assert_eq!(desk.expect(200, "GET", "/api/v1/account/sso", &admin, None).await["configured"], json!(false));

        // Saved: the secret is "set", never returned, and kept when a later save leaves it out.
        let saved =
            desk.expect(200, "PUT", "/api/v1/account/sso", &admin, Some(provider_settings(&provider, false))).await;
        assert_eq!((&saved["enabled"], &saved["client_secret_set"]), (&json!(true), &json!(true)));
        assert_eq!(saved["issuer"], json!(provider.issuer));
        let shown = desk.expect(200, "GET", "/api/v1/account/sso", &admin, None).await;
        assert!(!shown.to_string().contains(CLIENT_SECRET), "{shown}");
        assert!(!saved.to_string().contains(CLIENT_SECRET), "{saved}");
        let mut without_secret = provider_settings(&provider, false);
        without_secret.as_object_mut().expect("object").remove("client_secret");
        let kept = desk.expect(200, "PUT", "/api/v1/account/sso", &admin, Some(without_secret)).await;
        assert_eq!(kept["client_secret_set"], json!(true));
        // A disabled provider is saved without asking it (SSO can be turned off while it is down).
        nobody_there["enabled"] = json!(false);
        let off = desk.expect(200, "PUT", "/api/v1/account/sso", &admin, Some(nobody_there)).await;
        assert_eq!((&off["enabled"], &off["client_secret_set"]), (&json!(false), &json!(true)));
        desk.expect(200, "PUT", "/api/v1/account/sso", &admin, Some(provider_settings(&provider, false))).await;
        let status = desk
            .server
            .call("GET", &format!("/api/v1/auth/sso?account={}", desk.seeded.account.id), None, None)
            .await
            .1;
        assert_eq!(status["enabled"], json!(true), "{status}");
        assert_eq!(status["start_url"], json!(format!("/api/v1/auth/sso/start?account={}", desk.seeded.account.id)));

        // Another account's admin sees and changes only their own account's provider.
        other_account(&*desk._db.open().await, "boss@other.example", "Boss", Role::Admin).await;
        let boss = desk.login("boss@other.example").await;
        let theirs = desk.expect(200, "GET", "/api/v1/account/sso", &boss, None).await;
        assert_eq!((&theirs["configured"], &theirs["issuer"]), (&json!(false), &json!("")));
        let mut their_own = provider_settings(&provider, false);
        their_own["client_id"] = json!("boss-client");
        desk.expect(200, "PUT", "/api/v1/account/sso", &boss, Some(their_own)).await;
        assert_eq!(desk.expect(200, "GET", "/api/v1/account/sso", &admin, None).await["client_id"], json!(CLIENT_ID));
        assert!(
            audit(&desk, &boss, "settings.sso_updated").await.len() == 1,
            "the other account's log holds its own save"
        );

        // Audited with the secret redacted, and the secret is nowhere in the log.
        let updates = audit(&desk, &admin, "settings.sso_updated").await;
        assert_eq!(updates.len(), 4, "{updates:#?}");
        let first = updates.last().expect("the first save");
        assert_eq!((&first["actor_id"], &first["before"]), (&json!(desk.seeded.admin.id), &Value::Null));
        assert_eq!(first["after"]["client_secret"], json!("[redacted]"));
        assert_eq!(first["after"]["issuer"], json!(provider.issuer));
        let everything = desk.expect(200, "GET", "/api/v1/audit?limit=200", &admin, None).await;
        assert!(!everything.to_string().contains(CLIENT_SECRET));
        // No sign-in happened through any of this.
        assert_eq!(provider.token_requests(), 0);
        // Starting sign-ins needs no session, so one address may start only so many a minute.
        let start = desk.server.url(&format!("/api/v1/auth/sso/start?account={}", desk.seeded.account.id));
        for _ in 0..20 {
            assert_eq!(browser().get(&start).send().await.expect("start").status().as_u16(), 303);
        }
        let refused = browser().get(&start).send().await.expect("start");
        assert_eq!(refused.status().as_u16(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(refused.json::<Value>().await.expect("json")["error"], json!("rate_limited"));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_by_verified_email_and_everything_else_is_refused() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let provider = FakeOidc::start(clock.clone());
        let admin = desk.login("admin@test.example").await;

        // Not set up: back to the login page with the reason.
        let started = browser().get(desk.server.url("/api/v1/auth/sso/start")).send().await.expect("start");
        assert_eq!(
            (started.status().as_u16(), location(&started)),
            (303, "/agent?sso_error=sso_not_configured".to_owned())
        );
        desk.expect(200, "PUT", "/api/v1/account/sso", &admin, Some(provider_settings(&provider, false))).await;

        // The happy path: the agent's verified email, a session like a password login's.
        let token = sign_in(&desk, &provider, Script::default()).await.expect("signed in");
        let me = desk.expect(200, "GET", "/api/v1/me", &token, None).await;
        assert_eq!((&me["email"], &me["role"]), (&json!("agent@test.example"), &json!("agent")));
        let sessions = desk.expect(200, "GET", "/api/v1/me/sessions", &token, None).await;
        assert_eq!(sessions["items"].as_array().map(Vec::len), Some(1), "{sessions}");
        // The address is matched whatever its case.
        let upper = Script { email: Some("Sup@Test.Example".to_owned()), ..Script::default() };
        let supervisor = sign_in(&desk, &provider, upper).await.expect("signed in");
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", &supervisor, None).await["email"], json!("sup@test.example"));

        // Refused: an address the provider did not verify, one nobody has, a customer's.
        let unverified = Script { email_verified: Some(false), ..Script::default() };
        assert_eq!(sign_in(&desk, &provider, unverified).await, Err("sso_email_unverified".to_owned()));
        let unknown = Script { email: Some("nobody@test.example".to_owned()), ..Script::default() };
        assert_eq!(sign_in(&desk, &provider, unknown).await, Err("sso_unknown_user".to_owned()));
        let customer = Script { email: Some("cust@test.example".to_owned()), ..Script::default() };
        assert_eq!(sign_in(&desk, &provider, customer).await, Err("sso_unknown_user".to_owned()));
        // Staff of another account are not this account's, whatever its provider says.
        let stranger = other_account(&*desk._db.open().await, "boss@other.example", "Boss", Role::Admin).await;
        let elsewhere = Script { email: Some(stranger.email.clone()), ..Script::default() };
        assert_eq!(sign_in(&desk, &provider, elsewhere).await, Err("sso_unknown_user".to_owned()));
        // That account has no provider of its own: its sign-ins do not start.
        let started = browser()
            .get(desk.server.url(&format!("/api/v1/auth/sso/start?account={}", stranger.account_id)))
            .send()
            .await
            .expect("start");
        assert_eq!(location(&started), "/agent?sso_error=sso_not_configured");
        // A token for another client, or carrying another sign-in's nonce.
        let audience = Script { audience: Some("someone-else".to_owned()), ..Script::default() };
        assert_eq!(sign_in(&desk, &provider, audience).await, Err("sso_invalid_token".to_owned()));
        let nonce = Script { nonce: Some("a-nonce-from-elsewhere".to_owned()), ..Script::default() };
        assert_eq!(sign_in(&desk, &provider, nonce).await, Err("sso_invalid_token".to_owned()));
        // The provider's own refusal.
        let refuse = Script { refuse: Some("access_denied".to_owned()), ..Script::default() };
        assert_eq!(sign_in(&desk, &provider, refuse).await, Err("sso_refused".to_owned()));

        // A token expired by the hub's clock: the provider issued it for 5 minutes, 6 pass.
        provider.script(Script::default());
        let (back, binding) = through_provider(&desk, desk.seeded.account.id).await;
        clock.advance(SignedDuration::from_mins(6));
        assert_eq!(come_back(&back, Some(&binding)).await, Err("sso_invalid_token".to_owned()));
        // A sign-in left waiting longer than 10 minutes is gone.
        let (back, binding) = through_provider(&desk, desk.seeded.account.id).await;
        clock.advance(SignedDuration::from_mins(11));
        assert_eq!(come_back(&back, Some(&binding)).await, Err("sso_invalid_state".to_owned()));

        // The state: forged, in another browser, replayed.
        let (back, binding) = through_provider(&desk, desk.seeded.account.id).await;
        let forged = back.replace("state=", "state=x");
        assert_eq!(come_back(&forged, Some(&binding)).await, Err("sso_invalid_state".to_owned()));
        let exchanges = provider.token_requests();
        let (back, _) = through_provider(&desk, desk.seeded.account.id).await;
        let (_, other_browser) = through_provider(&desk, desk.seeded.account.id).await;
        assert_eq!(come_back(&back, Some(&other_browser)).await, Err("sso_invalid_state".to_owned()));
        let (back, binding) = through_provider(&desk, desk.seeded.account.id).await;
        assert_eq!(come_back(&back, None).await, Err("sso_invalid_state".to_owned()));
        assert_eq!(come_back(&back, Some(&binding)).await, Err("sso_invalid_state".to_owned()), "used once");
        assert_eq!(provider.token_requests(), exchanges, "a bad state never reaches the provider");
        let (back, binding) = through_provider(&desk, desk.seeded.account.id).await;
        assert!(come_back(&back, Some(&binding)).await.is_ok());
        assert_eq!(come_back(&back, Some(&binding)).await, Err("sso_invalid_state".to_owned()), "replayed");

        // Audited: each sign-in with its method, each refusal with its reason and address.
        let logins = audit(&desk, &admin, "auth.login").await;
        let by_sso: Vec<&Value> = logins.iter().filter(|entry| entry["after"]["method"] == "sso").collect();
        assert_eq!(by_sso.len(), 3, "{logins:#?}");
        assert_eq!(by_sso.last().expect("the first")["actor_id"], json!(desk.seeded.agent.id));
        assert_eq!(by_sso.last().expect("the first")["target_id"], json!(desk.seeded.agent.id.to_string()));
        let failures = audit(&desk, &admin, "auth.login_failed").await;
        let reasons: Vec<(&str, &Value)> = failures
            .iter()
            .rev()
            .filter(|entry| entry["after"]["method"] == "sso")
            .map(|entry| (entry["after"]["reason"].as_str().expect("reason"), &entry["after"]["email"]))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("email_unverified", &json!("agent@test.example")),
                ("unknown_email", &json!("nobody@test.example")),
                ("unknown_email", &json!("cust@test.example")),
                ("unknown_email", &json!("boss@other.example")),
                ("invalid_token", &Value::Null),
                ("invalid_token", &Value::Null),
                ("provider_refused", &Value::Null),
                ("invalid_token", &Value::Null),
                ("invalid_state", &Value::Null),
                ("invalid_state", &Value::Null),
                ("invalid_state", &Value::Null),
            ],
            "{failures:#?}"
        );
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_only_for_staff_closes_the_password_ways_in_for_agents_only() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let provider = FakeOidc::start(clock.clone());
        let admin = desk.login("admin@test.example").await;
        // A reset link the agent asked for before SSO was required.
        let store = desk._db.open().await;
        let (reset_token, reset_hash) = switchboard::auth::new_token();
        let expires = clock.now() + SignedDuration::from_mins(30);
        store
            .put_reset_token(desk.seeded.account.id, desk.seeded.agent.id, &reset_hash, clock.now(), expires)
            .await
            .expect("reset token");
        desk.expect(200, "PUT", "/api/v1/account/sso", &admin, Some(provider_settings(&provider, true))).await;
        // The account requires MFA of staff: the provider stands for agents' factors. The admin
        // keeps a password, so enrols a TOTP first (the policy would hold them back otherwise).
        let enrolment = desk.expect(200, "POST", "/api/v1/me/mfa/totp", &admin, None).await;
        let secret = enrolment["secret"].as_str().expect("secret").to_owned();
        let code = switchboard::auth::mfa::code_at(&secret, clock.now()).expect("code");
        desk.expect(200, "POST", "/api/v1/me/mfa/totp/confirm", &admin, Some(json!({"code": code}))).await;
        let policy = json!({"staff_mfa_required": true});
        let (status, body) = desk.call("PUT", "/api/v1/account/security", &admin, Some(policy)).await;
        assert_eq!(status, 200, "{body}");

        assert_error(password_login(&desk, "agent@test.example").await.as_pair(), 403, "sso_required");
        assert_error(password_login(&desk, "sup@test.example").await.as_pair(), 403, "sso_required");
        // Only someone who knows the password learns it: a wrong one is just wrong.
        let wrong = desk
            .server
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "agent@test.example", "password": "nope-nope"})),
            )
            .await;
        assert_error(wrong.as_pair(), 401, "invalid_credentials");
        let reset = json!({"token": reset_token, "password": "a-brand-new-password"});
        let refused = desk.server.call("POST", "/api/v1/auth/reset", None, Some(reset.clone())).await;
        assert_error(refused.as_pair(), 403, "sso_required");
        // Forgetting the password answers as for anyone, and sends nothing.
        let (status, _) =
            desk.server.call("POST", "/api/v1/auth/forgot", None, Some(json!({"email": "agent@test.example"}))).await;
        assert_eq!(status, 202);

        // Admins keep their password (the way back in, with their second factor), customers are
        // not concerned.
        let (status, body) = password_login(&desk, "admin@test.example").await;
        assert_error((status, &body), 401, "mfa_required");
        assert_eq!(password_login(&desk, "cust@test.example").await.0, 200);
        // Agents come in through the provider, and are not sent to enrol a TOTP.
        let token = sign_in(&desk, &provider, Script::default()).await.expect("signed in");
        let me = desk.expect(200, "GET", "/api/v1/me", &token, None).await;
        assert_eq!((&me["email"], &me["mfa_enrolment_required"]), (&json!("agent@test.example"), &json!(false)));
        // Nor held back from the API by the policy.
        desk.expect(200, "GET", "/api/v1/tickets", &token, None).await;
        let refused = audit(&desk, &admin, "auth.login_failed").await;
        assert!(
            refused.iter().any(|entry| entry["after"]["reason"] == "sso_required"
                && entry["target_id"] == json!(desk.seeded.agent.id.to_string())),
            "{refused:#?}"
        );

        // Turned off again: the agent's password is the one it was (the refused reset changed nothing).
        let mut optional = provider_settings(&provider, false);
        optional.as_object_mut().expect("object").remove("client_secret");
        desk.expect(200, "PUT", "/api/v1/account/sso", &admin, Some(optional)).await;
        assert_eq!(password_login(&desk, "agent@test.example").await.0, 200);
        desk.stop().await;
    }
}

/// `(status, &body)` for `assert_error`.
trait AsPair {
    fn as_pair(&self) -> (u16, &Value);
}

impl AsPair for (u16, Value) {
    fn as_pair(&self) -> (u16, &Value) {
        (self.0, &self.1)
    }
}
