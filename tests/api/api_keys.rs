//! Scoped API keys (issue 17 item 4) end to end, on both backends: a key shown once, used, listed
//! with its last use (written at most once a minute), revoked (401 at once, its socket closed);
//! expiry on the manual clock; every scope refusing what lies outside it, on REST and on the
//! socket; who may make, see and revoke which key, and bad input writing nothing; the per-key
//! rate limit's headers and its 429.

use std::time::Duration;

use jiff::SignedDuration;
use switchboard_actors::clock::Clock as _;
use switchboard_actors::domain::Role;

use super::*;

/// A request with a bearer credential; status, the `RateLimit-*`/`Retry-After` headers and body.
async fn send(desk: &Desk, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Headers, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = desk.server.http.request(method, desk.server.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let headers = Headers {
        limit: header("ratelimit-limit"),
        remaining: header("ratelimit-remaining"),
        reset: header("ratelimit-reset"),
        retry_after: header("retry-after"),
    };
    let text = response.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[derive(Debug)]
struct Headers {
    limit: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
    retry_after: Option<String>,
}

async fn create_key(desk: &Desk, token: &str, body: Value) -> Value {
    desk.expect(201, "POST", "/api/v1/api-keys", token, Some(body)).await
}

async fn key_with(desk: &Desk, token: &str, scopes: &[&str]) -> String {
    let created = create_key(desk, token, json!({"name": "test", "scopes": scopes})).await;
    created["key"].as_str().expect("key").to_owned()
}

async fn listed(desk: &Desk, token: &str) -> Vec<Value> {
    desk.expect(200, "GET", "/api/v1/api-keys", token, None).await["items"].as_array().expect("items").clone()
}

fn millis_of(value: &Value) -> i64 {
    value.as_str().and_then(|text| text.parse::<jiff::Timestamp>().ok()).expect("a timestamp").as_millisecond()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_shown_once_used_listed_with_its_last_use_and_revoked_at_once() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let agent = desk.login("agent@test.example").await;
        let body = json!({"name": " CRM sync ", "scopes": ["tickets:read", "tickets:write"], "expires_in_days": 30});
        let created = create_key(&desk, &agent, body).await;
        let key = created["key"].as_str().expect("key").to_owned();
        assert!(key.starts_with("sbk_") && key.len() == 47, "{key}");
        assert_eq!(created["prefix"], json!(key[..12]));
        assert_eq!(created["name"], "CRM sync");
        assert_eq!(created["scopes"], json!(["tickets:read", "tickets:write"]));
        assert_eq!(created["rate_limit_per_minute"], 600);
        assert_eq!(created["last_used_at"], Value::Null);
        let expires = millis_of(&created["expires_at"]) - millis_of(&created["created_at"]);
        assert_eq!(expires, 30 * 24 * 3_600_000);

        // The key acts as the agent; the list never shows it again, only its prefix.
        let me = desk.expect(200, "GET", "/api/v1/me", &key, None).await;
        assert_eq!(me["email"], "agent@test.example");
        let ticket = desk.ticket_for_customer(&key, "Made by a key").await;
        let (status, headers, _) = send(&desk, "GET", &format!("/api/v1/tickets/{}", id_of(&ticket)), &key, None).await;
        assert_eq!(status, 200);
        assert_eq!(headers.limit.as_deref(), Some("600"));
        let items = listed(&desk, &agent).await;
        assert_eq!(items.len(), 1);
        assert!(items[0].get("key").is_none() && items[0].get("key_hash").is_none(), "{}", items[0]);
        let first_use = millis_of(&items[0]["last_used_at"]);
        assert_eq!(first_use, clock.now().as_millisecond());

        // Last use is written at most once a minute.
        clock.advance(SignedDuration::from_secs(30));
        desk.expect(200, "GET", "/api/v1/me", &key, None).await;
        assert_eq!(millis_of(&listed(&desk, &agent).await[0]["last_used_at"]), first_use);
        clock.advance(SignedDuration::from_secs(31));
        desk.expect(200, "GET", "/api/v1/me", &key, None).await;
        assert_eq!(millis_of(&listed(&desk, &agent).await[0]["last_used_at"]), clock.now().as_millisecond());

        // Revoked: refused at once, and a socket opened with it closes.
        let mut socket = WsClient::connect(&desk.server.base, &key).await;
        socket.subscribe(&format!("ticket:{}", id_of(&ticket)), None).await;
        let path = format!("/api/v1/api-keys/{}", id_of(&created));
        desk.expect(204, "DELETE", &path, &agent, None).await;
        let (status, body) = desk.call("GET", "/api/v1/me", &key, None).await;
        assert_error((status, &body), 401, "unauthenticated");
        assert!(socket.close_code(Duration::from_secs(5)).await.is_some(), "the key's socket closes");
        assert!(listed(&desk, &agent).await.is_empty());
        let (status, body) = desk.call("DELETE", &path, &agent, None).await;
        assert_error((status, &body), 404, "not_found");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_stops_working_when_it_expires() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let admin = desk.login("admin@test.example").await;
        let created =
            create_key(&desk, &admin, json!({"name": "short", "scopes": ["admin"], "expires_in_days": 1})).await;
        let key = created["key"].as_str().expect("key");
        clock.advance(SignedDuration::from_hours(24) - SignedDuration::from_secs(1));
        desk.expect(200, "GET", "/api/v1/me", key, None).await;
        clock.advance(SignedDuration::from_secs(1));
        let (status, body) = desk.call("GET", "/api/v1/me", key, None).await;
        assert_error((status, &body), 401, "unauthenticated");
        // A key made with no expiry lives 90 days.
        let default = create_key(&desk, &admin, json!({"name": "default", "scopes": ["users:read"]})).await;
        let lifetime = millis_of(&default["expires_at"]) - millis_of(&default["created_at"]);
        assert_eq!(lifetime, 90 * 24 * 3_600_000);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scope_refuses_requests_outside_it() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let admin = desk.login("admin@test.example").await;
        let ticket = id_of(&desk.ticket_for_customer(&admin, "Probe target").await);
        // One request per scope, each answered 2xx when allowed. (`webhooks:manage` guards the
        // webhook endpoints, which its own part of issue 17 adds with their probe.)
        let probes: Vec<(&str, &str, String, Option<Value>)> = vec![
            ("tickets:read", "GET", format!("/api/v1/tickets/{ticket}"), None),
            ("tickets:write", "PATCH", format!("/api/v1/tickets/{ticket}"), Some(json!({"tags": ["probed"]}))),
            ("messages:write", "POST", format!("/api/v1/tickets/{ticket}/messages"), Some(json!({"body": "Probe."}))),
            ("users:read", "GET", "/api/v1/users".to_owned(), None),
            ("reports:read", "GET", "/api/v1/reports/summary".to_owned(), None),
            ("admin", "GET", "/api/v1/account/channel-secrets".to_owned(), None),
        ];
        let scopes = [
            "tickets:read",
            "tickets:write",
            "messages:write",
            "users:read",
            "reports:read",
            "webhooks:manage",
            "admin",
        ];
        for scope in scopes {
            let key = key_with(&desk, &admin, &[scope]).await;
            for (needed, method, path, body) in &probes {
                let (status, _, answer) = send(&desk, method, path, &key, body.clone()).await;
                if scope == *needed || scope == "admin" {
                    assert!((200..300).contains(&status), "{scope} key, {method} {path}: {status} {answer}");
                } else {
                    assert_error((status, &answer), 403, "insufficient_scope");
                    let message = answer["message"].as_str().expect("message");
                    assert!(message.contains(&format!("`{needed}`")), "names the scope needed: {message}");
                }
            }
            // The socket: ticket topics need `tickets:read`.
            let mut socket = WsClient::connect(&desk.server.base, &key).await;
            let topic = format!("ticket:{ticket}");
            if scope == "tickets:read" || scope == "admin" {
                socket.subscribe(&topic, None).await;
            } else {
                socket.send(json!({"type": "subscribe", "topic": topic})).await;
                let refused = socket.expect("error", Duration::from_secs(5)).await;
                assert_eq!(refused["code"], "insufficient_scope", "{scope}: {refused}");
            }
            socket.close().await;
        }
        // Sessions and issued tokens hold every scope of their user, as before.
        let agent_id = desk.seeded.agent.id;
        let issued =
            desk.expect(201, "POST", &format!("/api/v1/users/{agent_id}/tokens"), &admin, Some(json!({}))).await;
        let token = issued["token"].as_str().expect("token");
        for (_, method, path, body) in &probes[..5] {
            let (status, headers, answer) = send(&desk, method, path, token, body.clone()).await;
            assert!((200..300).contains(&status), "issued token, {method} {path}: {status} {answer}");
            assert!(headers.limit.is_none(), "sessions carry no key budget");
        }
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_are_only_what_the_maker_holds_and_bad_input_writes_nothing() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        for scope in ["admin", "webhooks:manage"] {
            let body = json!({"name": "too wide", "scopes": ["tickets:read", scope]});
            let (status, refused) = desk.call("POST", "/api/v1/api-keys", &agent, Some(body)).await;
            assert_error((status, &refused), 403, "insufficient_scope");
            assert!(refused["message"].as_str().expect("message").contains(scope), "{refused}");
        }
        let bad = [
            (json!({"name": "x", "scopes": ["tickets:delete"]}), "scopes"),
            (json!({"name": "x", "scopes": []}), "scopes"),
            (json!({"name": "x", "scopes": ["tickets:read"], "expires_in_days": -1}), "expires_in_days"),
            (json!({"name": "x", "scopes": ["tickets:read"], "expires_in_days": 366}), "expires_in_days"),
            (json!({"name": "x".repeat(101), "scopes": ["tickets:read"]}), "name"),
            (json!({"name": "   ", "scopes": ["tickets:read"]}), "name"),
            (json!({"name": "x", "scopes": ["tickets:read"], "rate_limit_per_minute": 0}), "rate_limit_per_minute"),
        ];
        for (body, field) in bad {
            let (status, refused) = desk.call("POST", "/api/v1/api-keys", &agent, Some(body.clone())).await;
            assert_invalid((status, &refused), field);
        }
        let (status, refused) = desk
            .call(
                "POST",
                "/api/v1/api-keys",
                &agent,
                Some(json!({"name": "x", "scopes": ["tickets:read"], "owner": 1})),
            )
            .await;
        assert_eq!(status, 422, "unknown fields are refused: {refused}");
        assert!(listed(&desk, &agent).await.is_empty(), "no refusal wrote a key");
        assert!(listed(&desk, &admin).await.is_empty());

        // Customers make no keys and see none.
        let (status, refused) = desk
            .call("POST", "/api/v1/api-keys", &customer, Some(json!({"name": "x", "scopes": ["tickets:read"]})))
            .await;
        assert_error((status, &refused), 403, "forbidden");
        let (status, refused) = desk.call("GET", "/api/v1/api-keys", &customer, None).await;
        assert_error((status, &refused), 403, "forbidden");

        // A key without `admin` cannot manage keys; one with it cannot make a wider key than its user.
        let reader = key_with(&desk, &agent, &["tickets:read"]).await;
        let (status, refused) = desk
            .call("POST", "/api/v1/api-keys", &reader, Some(json!({"name": "x", "scopes": ["tickets:read"]})))
            .await;
        assert_error((status, &refused), 403, "insufficient_scope");
        assert_eq!(listed(&desk, &agent).await.len(), 1);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_revoked_by_their_owner_or_an_admin_of_their_account_only() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let supervisor = desk.login("sup@test.example").await;
        other_account(&*desk._db.open().await, "boss@other.example", "Boss", Role::Admin).await;
        let outsider = desk.login("boss@other.example").await;
        let theirs = create_key(&desk, &outsider, json!({"name": "theirs", "scopes": ["admin"]})).await;
        let agents = create_key(&desk, &agent, json!({"name": "agent's", "scopes": ["tickets:read"]})).await;
        let supervisors = create_key(&desk, &supervisor, json!({"name": "sup's", "scopes": ["users:read"]})).await;

        // Another account's key: invisible and untouchable, and it keeps working.
        let path = format!("/api/v1/api-keys/{}", id_of(&theirs));
        let (status, refused) = desk.call("DELETE", &path, &admin, None).await;
        assert_error((status, &refused), 404, "not_found");
        desk.expect(200, "GET", "/api/v1/me", theirs["key"].as_str().expect("key"), None).await;
        assert_eq!(listed(&desk, &admin).await.len(), 2, "an admin lists the account's keys only");
        assert_eq!(listed(&desk, &agent).await.len(), 1, "others list their own");

        // A colleague's key: not for the agent, but the admin may revoke it.
        let path = format!("/api/v1/api-keys/{}", id_of(&supervisors));
        let (status, refused) = desk.call("DELETE", &path, &agent, None).await;
        assert_error((status, &refused), 404, "not_found");
        desk.expect(204, "DELETE", &path, &admin, None).await;
        desk.expect(204, "DELETE", &format!("/api/v1/api-keys/{}", id_of(&agents)), &agent, None).await;
        assert!(listed(&desk, &admin).await.is_empty());
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_rate_limit_is_told_when_to_come_back() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let admin = desk.login("admin@test.example").await;
        let body = json!({"name": "slow", "scopes": ["tickets:read"], "rate_limit_per_minute": 3});
        let created = create_key(&desk, &admin, body).await;
        let key = created["key"].as_str().expect("key");
        for remaining in ["2", "1", "0"] {
            let (status, headers, _) = send(&desk, "GET", "/api/v1/tickets", key, None).await;
            assert_eq!(status, 200);
            assert_eq!((headers.limit.as_deref(), headers.remaining.as_deref()), (Some("3"), Some(remaining)));
            let reset: u64 = headers.reset.as_deref().expect("RateLimit-Reset").parse().expect("seconds");
            assert!(reset <= 60, "{reset}");
        }
        let (status, headers, body) = send(&desk, "GET", "/api/v1/tickets", key, None).await;
        assert_error((status, &body), 429, "rate_limited");
        assert_eq!((headers.limit.as_deref(), headers.remaining.as_deref()), (Some("3"), Some("0")));
        let retry: u64 = headers.retry_after.as_deref().expect("Retry-After").parse().expect("seconds");
        assert!((1..=20).contains(&retry), "one request per 20 s comes back: {retry}");
        // Another key of the same user has its own budget; the session has none.
        let other = key_with(&desk, &admin, &["tickets:read"]).await;
        let (status, headers, _) = send(&desk, "GET", "/api/v1/tickets", &other, None).await;
        assert_eq!((status, headers.remaining.as_deref()), (200, Some("599")));
        let (status, headers, _) = send(&desk, "GET", "/api/v1/tickets", &admin, None).await;
        assert_eq!((status, headers.limit), (200, None));
        desk.stop().await;
    }
}

/// Every documented route names the scope a key needs (a new route fails here until it does).
#[test]
fn every_documented_route_is_listed_in_the_scope_table() {
    let openapi = switchboard::http::openapi();
    let mut missing = Vec::new();
    for (path, item) in &openapi.paths.paths {
        let under = path.strip_prefix("/api/v1").unwrap_or(path);
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in methods {
            if present && switchboard::api_keys::scopes::listed(method, under).is_none() {
                missing.push(format!("{method} {under}"));
            }
        }
    }
    assert!(openapi.paths.paths.len() > 50, "the document lists the API");
    assert!(missing.is_empty(), "routes with no scope in src/api_keys/scopes.rs: {missing:?}");
}

/// A key never holds more than its user does now: a demoted admin's `admin` key stops
/// administering, and a deactivated user's keys stop working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_shrinks_with_its_users_role() {
    let desk = Desk::start().await;
    let admin = desk.login("admin@test.example").await;
    let body = json!({"email": "second@test.example", "name": "Second", "role": "admin", "password": PASSWORD});
    let second = id_of(&desk.create_user(&admin, body).await);
    let second_login = desk.login("second@test.example").await;
    let key = key_with(&desk, &second_login, &["admin"]).await;
    desk.expect(200, "GET", "/api/v1/account/channel-secrets", &key, None).await;

    let path = format!("/api/v1/users/{second}");
    desk.expect(200, "PATCH", &path, &admin, Some(json!({"role": "agent"}))).await;
    let (status, refused) = desk.call("GET", "/api/v1/account/channel-secrets", &key, None).await;
    assert_error((status, &refused), 403, "insufficient_scope");
    let (status, refused) = desk.call("GET", "/api/v1/tickets", &key, None).await;
    assert_error((status, &refused), 403, "insufficient_scope");
    desk.expect(200, "GET", "/api/v1/me", &key, None).await;

    desk.expect(200, "PATCH", &path, &admin, Some(json!({"active": false}))).await;
    let (status, refused) = desk.call("GET", "/api/v1/me", &key, None).await;
    assert_error((status, &refused), 401, "unauthenticated");
    desk.stop().await;
}
