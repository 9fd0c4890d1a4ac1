//! The audit log (issue 17 item 6) end to end, on both backends: an entry for each hooked admin
//! action with its actor, IP and before/after (secrets redacted); failed logins for known and
//! unknown emails; the filters, paging and the CSV; non-admins and other accounts refused;
//! retention deleting old entries on the manual clock.

use jiff::SignedDuration;
use switchboard_actors::clock::Clock as _;
use switchboard_actors::domain::Role;

use super::*;

/// Every entry of the account visible to `admin`, newest first (following the cursor).
async fn entries(desk: &Desk, admin: &str, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/audit?limit=200&{query}&cursor={cursor}"),
            None => format!("/api/v1/audit?limit=200&{query}"),
        };
        let page = desk.expect(200, "GET", &path, admin, None).await;
        all.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

/// The newest entry named `action`.
fn find<'a>(all: &'a [Value], action: &str) -> &'a Value {
    all.iter().find(|entry| entry["action"] == action).unwrap_or_else(|| panic!("no `{action}` in {all:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_admin_action_is_recorded_with_its_actor_ip_and_before_after_secrets_redacted() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let admin = desk.login("admin@test.example").await;
        let admin_id = desk.seeded.admin.id;

        // Failed logins: a known email with a wrong password, and an email of no one.
        for email in ["agent@test.example", "nobody@test.example"] {
            let body = json!({"email": email, "password": "wrong password!"});
            let (status, _) = desk.server.call("POST", "/api/v1/auth/login", None, Some(body)).await;
            assert_eq!(status, 401);
        }

        // Users and roles.
        let body = json!({"email": "new@test.example", "name": "New", "role": "agent", "password": PASSWORD});
        let user = id_of(&desk.create_user(&admin, body).await);
        let path = format!("/api/v1/users/{user}");
        desk.expect(200, "PATCH", &path, &admin, Some(json!({"role": "supervisor"}))).await;
        desk.expect(200, "PATCH", &path, &admin, Some(json!({"password": "another long password"}))).await;
        // Teams and routing.
        let team = id_of(&desk.expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": "Tier 9"}))).await);
        let body = json!({"description": "Escalations"});
        desk.expect(200, "PATCH", &format!("/api/v1/teams/{team}"), &admin, Some(body)).await;
        let routing = json!({"mode": "round_robin"});
        desk.expect(200, "PUT", &format!("/api/v1/teams/{team}/routing"), &admin, Some(routing)).await;
        // Settings and the SLA policy.
        let policy = json!({"enabled": true, "warning_percent": 75,
                            "targets": [{"priority": "high", "first_response_minutes": 60}]});
        desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(policy)).await;
        desk.expect(200, "PUT", "/api/v1/audit/retention", &admin, Some(json!({"days": 400}))).await;
        // Automation rules.
        let rule = json!({"name": "Critical", "when": {"event": "priority_changed"},
                          "then": [{"notify": "all_agents", "message": "Critical ticket"}]});
        let rule = id_of(&desk.expect(201, "POST", "/api/v1/automations", &admin, Some(rule)).await);
        let rule_path = format!("/api/v1/automations/{rule}");
        desk.expect(200, "PATCH", &rule_path, &admin, Some(json!({"enabled": false}))).await;
        // API keys.
        let body = json!({"name": "CRM", "scopes": ["tickets:read"]});
        let created = desk.expect(201, "POST", "/api/v1/api-keys", &admin, Some(body)).await;
        let secret = created["key"].as_str().expect("key").to_owned();
        let key = id_of(&created);
        desk.expect(204, "DELETE", &format!("/api/v1/api-keys/{key}"), &admin, None).await;
        // Reports: an export and a schedule.
        let (status, _) = desk.call("GET", "/api/v1/reports/export?kind=tickets&format=csv", &admin, None).await;
        assert_eq!(status, 200);
        let spec = json!({"kind": "summary", "query": "", "cadence": "daily", "hour": 7,
                          "recipients": ["lead@test.example"], "format": "csv"});
        let schedule = id_of(&desk.expect(201, "POST", "/api/v1/reports/schedules", &admin, Some(spec)).await);
        desk.expect(204, "DELETE", &format!("/api/v1/reports/schedules/{schedule}"), &admin, None).await;
        // The admin's own password.
        let body = json!({"current_password": PASSWORD, "new_password": "a brand new password"});
        desk.expect(204, "POST", "/api/v1/me/password", &admin, Some(body)).await;
        // The channels' secrets, read.
        let (status, _) = desk.call("GET", "/api/v1/account/channel-secrets", &admin, None).await;
        assert_eq!(status, 200);

        // Failed logins are written off the request's path.
        eventually("both failed logins recorded", || async {
            entries(&desk, &admin, "action=auth.login_failed").await.len() == 2
        })
        .await;
        let all = entries(&desk, &admin, "").await;
        let by_admin = [
            "auth.login",
            "user.created",
            "user.role_changed",
            "user.password_reset",
            "team.created",
            "team.updated",
            "routing.updated",
            "sla_policy.updated",
            "settings.updated",
            "automation_rule.created",
            "automation_rule.updated",
            "api_key.created",
            "api_key.revoked",
            "report.exported",
            "report_schedule.created",
            "report_schedule.deleted",
            "channel_secrets.viewed",
            "auth.password_changed",
        ];
        for action in by_admin {
            let entry = find(&all, action);
            assert_eq!(entry["actor_id"], json!(admin_id), "{action}: {entry}");
            assert_eq!(entry["actor_ip"], json!("127.0.0.1"), "{action}: {entry}");
            assert_eq!(entry["account_id"], json!(desk.seeded.account.id), "{action}");
        }

        let role = find(&all, "user.role_changed");
        assert_eq!((role["target_type"].clone(), role["target_id"].clone()), (json!("user"), json!(user.to_string())));
        assert_eq!(role["before"]["role"], "agent");
        assert_eq!(role["after"]["role"], "supervisor");
        let team_entry = find(&all, "team.updated");
        assert_eq!(team_entry["before"]["description"], "");
        assert_eq!(team_entry["after"]["description"], "Escalations");
        assert_eq!(find(&all, "routing.updated")["after"]["mode"], "round_robin");
        assert_eq!(find(&all, "sla_policy.updated")["before"], Value::Null, "no policy before");
        assert_eq!(find(&all, "sla_policy.updated")["after"]["warning_percent"], 75);
        let retention = find(&all, "settings.updated");
        assert_eq!(
            (retention["before"].clone(), retention["after"].clone()),
            (json!({"audit_retention_days": 365}), json!({"audit_retention_days": 400}))
        );
        let rule_entry = find(&all, "automation_rule.updated");
        assert_eq!(
            (rule_entry["before"]["enabled"].clone(), rule_entry["after"]["enabled"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(find(&all, "api_key.created")["after"]["name"], "CRM");
        assert_eq!(find(&all, "api_key.revoked")["before"]["prefix"], json!(secret[..12]));
        assert_eq!(find(&all, "report.exported")["after"]["kind"], "tickets");
        // A family whose name holds an underscore, which a LIKE pattern would take as a wildcard.
        let keys: Vec<Value> = entries(&desk, &admin, "action=api_key.").await;
        let actions: Vec<&str> = keys.iter().map(|entry| entry["action"].as_str().expect("action")).collect();
        assert_eq!(actions, ["api_key.revoked", "api_key.created"]);
        assert!(entries(&desk, &admin, "action=api%5Fkey.").await.len() == 2, "the same family, the `_` encoded");
        assert!(entries(&desk, &admin, "action=apixkey.").await.is_empty(), "`_` is no wildcard");

        // A failed login has no actor: for a known email it names the user, for an unknown one
        // only the email typed; the password typed is nowhere.
        let failed = entries(&desk, &admin, "action=auth.login_failed").await;
        let unknown = &failed[0];
        assert_eq!((unknown["actor_id"].clone(), unknown["target_id"].clone()), (Value::Null, Value::Null));
        assert_eq!(unknown["after"], json!({"email": "nobody@test.example", "reason": "unknown_email"}));
        assert_eq!(unknown["actor_ip"], "127.0.0.1");
        let known = &failed[1];
        assert_eq!(known["target_id"], json!(desk.seeded.agent.id.to_string()));
        assert_eq!(known["after"]["reason"], "wrong_password");

        // No secret reaches the log: not the key, not a password, not a hash.
        let text = serde_json::to_string(&all).expect("json");
        for secret in
            [secret.as_str(), PASSWORD, "another long password", "a brand new password", "wrong password!", "$argon2"]
        {
            assert!(!text.contains(secret), "`{secret}` is in the audit log");
        }
        assert_eq!(find(&all, "user.password_reset")["after"]["credentials_reset"], true);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_filters_pages_newest_first_exports_csv_and_refuses_others() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let start = clock.now();
        for name in ["One", "Two", "Three"] {
            desk.expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": name}))).await;
            clock.advance(SignedDuration::from_hours(1));
        }

        // By action, newest first; a family by its prefix.
        let teams = entries(&desk, &admin, "action=team.created").await;
        let names: Vec<&str> = teams.iter().map(|entry| entry["after"]["name"].as_str().expect("name")).collect();
        assert_eq!(names, ["Three", "Two", "One"]);
        assert!(entries(&desk, &admin, "action=auth.").await.iter().all(|entry| entry["action"] == "auth.login"));
        // By actor: the agent logged in and did nothing else.
        let agent_id = desk.seeded.agent.id;
        let by_agent = entries(&desk, &admin, &format!("actor={agent_id}")).await;
        assert_eq!(by_agent.len(), 1);
        assert_eq!(by_agent[0]["action"], "auth.login");
        // By period: from is included, to excluded.
        let from = (start + SignedDuration::from_mins(30)).to_string();
        let to = (start + SignedDuration::from_mins(90)).to_string();
        let middle = entries(&desk, &admin, &format!("from={from}&to={to}")).await;
        assert_eq!(middle.len(), 1);
        assert_eq!(middle[0]["after"]["name"], "Two");

        // Pages of one follow each other without gaps.
        let first = desk.expect(200, "GET", "/api/v1/audit?action=team.created&limit=1", &admin, None).await;
        assert_eq!(first["items"][0]["after"]["name"], "Three");
        let next = first["next"].as_str().expect("next");
        let second = desk
            .expect(200, "GET", &format!("/api/v1/audit?action=team.created&limit=1&cursor={next}"), &admin, None)
            .await;
        assert_eq!(second["items"][0]["after"]["name"], "Two");

        // The CSV of the same filter.
        let response = desk
            .server
            .http
            .get(desk.server.url("/api/v1/audit?action=team.created&format=csv"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response.headers()["content-type"].to_str().expect("type").to_owned();
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let csv = response.text().await.expect("body");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,at,actor_id,actor_ip,action,target_type,target_id,before,after");
        assert_eq!(lines.len(), 4, "{csv}");
        assert!(lines[1].contains(",team.created,team,") && lines[1].contains(r#""{""#) && lines[1].contains("Three"));

        // Bad filters are 400; agents and API keys without `admin` are refused; another
        // account's admin sees only their own account's log.
        for query in ["from=yesterday", "cursor=abc", "action=DROP%20TABLE", "format=xml", "limit=0"] {
            let (status, _) = desk.call("GET", &format!("/api/v1/audit?{query}"), &admin, None).await;
            assert_eq!(status, 400, "{query}");
        }
        let (status, _) = desk.call("GET", "/api/v1/audit", &agent, None).await;
        assert_eq!(status, 403);
        let (status, _) = desk.call("PUT", "/api/v1/audit/retention", &agent, Some(json!({"days": 30}))).await;
        assert_eq!(status, 403);
        let body = json!({"name": "reader", "scopes": ["tickets:read", "reports:read", "users:read"]});
        let key = desk.expect(201, "POST", "/api/v1/api-keys", &admin, Some(body)).await;
        let (status, refused) = desk.call("GET", "/api/v1/audit", key["key"].as_str().expect("key"), None).await;
        assert_error((status, &refused), 403, "insufficient_scope");
        other_account(&*desk._db.open().await, "boss@other.example", "Boss", Role::Admin).await;
        let boss = desk.login("boss@other.example").await;
        let theirs = entries(&desk, &boss, "").await;
        assert_eq!(theirs.len(), 1, "only the boss's own login: {theirs:#?}");
        assert_eq!(theirs[0]["action"], "auth.login");
        let (status, _) = desk.call("PUT", "/api/v1/audit/retention", &admin, Some(json!({"days": 7}))).await;
        assert_eq!(status, 422, "under the minimum");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_past_the_accounts_retention_are_deleted_by_the_daily_sweep() {
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let admin = desk.login("admin@test.example").await;
        desk.expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": "Old"}))).await;
        assert_eq!(desk.expect(200, "GET", "/api/v1/audit/retention", &admin, None).await["days"], 365);

        // 200 days on: nothing is old enough yet.
        let desk = desk.down_for(&clock, SignedDuration::from_hours(24 * 200)).await;
        let admin = desk.login("admin@test.example").await;
        desk.expect(201, "POST", "/api/v1/teams", &admin, Some(json!({"name": "Newer"}))).await;
        assert_eq!(entries(&desk, &admin, "action=team.created").await.len(), 2);

        // 366 days after the first: its entries go at the sweep, the newer ones stay.
        let desk = desk.down_for(&clock, SignedDuration::from_hours(24 * 166)).await;
        let admin = desk.login("admin@test.example").await;
        eventually("the first year's entries deleted", || async {
            entries(&desk, &admin, "action=team.created").await.len() == 1
        })
        .await;
        let kept = entries(&desk, &admin, "action=team.created").await;
        assert_eq!(kept[0]["after"]["name"], "Newer");

        // A shorter retention set by an admin sweeps at once.
        desk.expect(200, "PUT", "/api/v1/audit/retention", &admin, Some(json!({"days": 30}))).await;
        eventually("entries older than 30 days deleted", || async {
            entries(&desk, &admin, "action=team.created").await.is_empty()
        })
        .await;
        let left = entries(&desk, &admin, "").await;
        assert!(left.iter().any(|entry| entry["action"] == "settings.updated"), "today's entries stay: {left:#?}");
        desk.stop().await;
    }
}

/// The hooks of issue 17's last items: MFA turned on, a recovery code used, MFA turned off,
/// a session revoked, the security policy changed, and webhook subscriptions created, changed
/// (`allow_private` recorded as an entry of its own) and deleted — each with its actor, target
/// and before/after, no secret among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_sessions_the_security_policy_and_webhooks_are_recorded() {
    use switchboard::auth::mfa;
    for backend in backends() {
        let clock = manual_clock();
        let desk = Desk::start_on(backend, clock.clone()).await;
        let (admin, agent) = desk.staff().await;
        let agent_id = desk.seeded.agent.id;
        let admin_id = desk.seeded.admin.id;

        // MFA on, a recovery code used at login, MFA off.
        let secret = desk.expect(200, "POST", "/api/v1/me/mfa/totp", &agent, None).await["secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        let confirmed =
            desk.expect(200, "POST", "/api/v1/me/mfa/totp/confirm", &agent, Some(json!({"code": code}))).await;
        let recovery = confirmed["recovery_codes"][0].as_str().expect("a recovery code").to_owned();
        let login = json!({"email": "agent@test.example", "password": PASSWORD, "totp": recovery});
        let (status, body) = desk.server.call("POST", "/api/v1/auth/login", None, Some(login)).await;
        assert_eq!(status, 200, "{body}");
        let second = body["token"].as_str().expect("token").to_owned();
        clock.advance(SignedDuration::from_secs(60));
        let code = mfa::code_at(&secret, clock.now()).expect("code");
        desk.expect(204, "DELETE", "/api/v1/me/mfa", &agent, Some(json!({"code": code}))).await;

        // A session revoked: the agent ends the second login from the first.
        let sessions = desk.expect(200, "GET", "/api/v1/me/sessions", &agent, None).await;
        let other = sessions["items"].as_array().expect("sessions").iter().find(|session| session["current"] == false);
        let other = other.expect("the other session")["id"].as_str().expect("id").to_owned();
        desk.expect(204, "DELETE", &format!("/api/v1/me/sessions/{other}"), &agent, None).await;
        let (status, _) = desk.call("GET", "/api/v1/me", &second, None).await;
        assert_eq!(status, 401, "the revoked session is gone");

        // The account's security policy.
        let policy = json!({"staff_mfa_required": false, "session_idle_minutes": 60, "session_lifetime_hours": 12});
        desk.expect(200, "PUT", "/api/v1/account/security", &admin, Some(policy)).await;

        // Webhooks: created allowing private addresses, moved to a public URL without, deleted.
        let body = json!({"url": "http://127.0.0.1:9/hook", "events": ["*"], "secret": "whsec-audit-known-0001",
                          "allow_private": true});
        let webhook = desk.expect(201, "POST", "/api/v1/webhooks", &admin, Some(body)).await;
        let webhook = id_of(&webhook);
        let path = format!("/api/v1/webhooks/{webhook}");
        let body =
            json!({"url": "https://93.184.215.14/hook", "allow_private": false, "secret": "whsec-audit-known-0002"});
        desk.expect(200, "PATCH", &path, &admin, Some(body)).await;
        desk.expect(200, "PATCH", &path, &admin, Some(json!({"active": false}))).await;
        desk.expect(204, "DELETE", &path, &admin, None).await;

        let all = entries(&desk, &admin, "").await;
        let target = |entry: &Value| (entry["target_type"].clone(), entry["target_id"].clone());
        let enabled = find(&all, "auth.mfa_enabled");
        assert_eq!(
            (enabled["actor_id"].clone(), target(enabled)),
            (json!(agent_id), (json!("user"), json!(agent_id.to_string())))
        );
        assert_eq!(enabled["after"], json!({"method": "totp", "recovery_codes": 10}));
        let used = find(&all, "auth.mfa_recovery_code_used");
        assert_eq!((used["actor_id"].clone(), used["actor_ip"].clone()), (json!(agent_id), json!("127.0.0.1")));
        assert_eq!(used["after"], json!({"recovery_codes_left": 9}));
        let disabled = find(&all, "auth.mfa_disabled");
        assert_eq!(
            (disabled["actor_id"].clone(), disabled["before"].clone()),
            (json!(agent_id), json!({"method": "totp"}))
        );
        let revoked = find(&all, "auth.session_revoked");
        assert_eq!((revoked["actor_id"].clone(), target(revoked)), (json!(agent_id), (json!("session"), json!(other))));
        assert_eq!(revoked["before"], json!({"user_id": agent_id, "current": false}));
        let updated = find(&all, "settings.security_updated");
        assert_eq!(
            (updated["actor_id"].clone(), target(updated)),
            (json!(admin_id), (json!("account"), json!(desk.seeded.account.id.to_string())))
        );
        assert_eq!(updated["before"]["session_idle_minutes"], Value::Null);
        assert_eq!(updated["after"]["session_idle_minutes"], 60);

        let hook = |action: &str| -> Vec<&Value> { all.iter().filter(|entry| entry["action"] == action).collect() };
        let created = find(&all, "webhook.created");
        assert_eq!(
            (created["actor_id"].clone(), target(created)),
            (json!(admin_id), (json!("webhook"), json!(webhook.to_string())))
        );
        assert_eq!((created["before"].clone(), created["after"]["allow_private"].clone()), (Value::Null, json!(true)));
        assert_eq!(hook("webhook.updated").len(), 2);
        let private = hook("webhook.allow_private_changed");
        // Newest first: switched off by the first PATCH, on at creation; the second PATCH left it.
        assert_eq!(private.len(), 2, "{private:#?}");
        assert_eq!(
            (private[0]["before"]["allow_private"].clone(), private[0]["after"]["allow_private"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(
            (private[1]["before"].clone(), private[1]["after"]["allow_private"].clone()),
            (Value::Null, json!(true))
        );
        assert!(private.iter().all(|entry| entry["actor_id"] == json!(admin_id)));
        let deleted = find(&all, "webhook.deleted");
        assert_eq!(
            (deleted["before"]["url"].clone(), deleted["after"].clone()),
            (json!("https://93.184.215.14/hook"), Value::Null)
        );

        let text = serde_json::to_string(&all).expect("json");
        for secret in [secret.as_str(), recovery.as_str(), "whsec-audit-known-0001", "whsec-audit-known-0002"] {
            assert!(!text.contains(secret), "`{secret}` is in the audit log");
        }
        desk.stop().await;
    }
}
