//! Which scope an API key needs for each route under `/api/v1` and each WebSocket topic: the one
//! table, read by the `Caller` extractor (so no handler checks scopes itself) and by the socket.
//! Sessions are not checked here: they hold every scope of their user, and the handlers' role
//! checks decide as before. A route missing from the table needs `admin` (fail closed); a test
//! walks the OpenAPI document so every documented route is listed on purpose
//! (`tests/api/api_keys.rs`).

use actix_web::http::Method;
use switchboard_actors::api_keys::Scope;

/// What a route asks of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing beyond a live key (who am I, log out) or no credential at all (login, the public
    /// knowledge base, customer registration).
    Nothing,
    Scope(Scope),
}

use Need::Nothing;
use Scope::*;

const fn s(scope: Scope) -> Need {
    Need::Scope(scope)
}

/// `(method, path under /api/v1 as actix writes it, need)`; a path ending in `*` covers every
/// path it starts (the parts of issue 17 built beside this one: webhooks, MFA, sessions, audit).
/// Reading what an agent works with (tickets, views, the account's ticket settings, the
/// knowledge base, notifications) is `tickets:read`; changing tickets, views and drafts is
/// `tickets:write`; replies and uploads are `messages:write`; people and companies are
/// `users:read`; reports, CSAT results and the live dashboard `reports:read`; everything an
/// admin configures (settings, users, automations, routing, the knowledge base's content, keys)
/// and the caller's own profile, password and preferences is `admin`.
pub const ROUTES: &[(&str, &str, Need)] = &[
    // Authentication and the caller's own account.
    ("POST", "/auth/login", Nothing),
    ("POST", "/auth/logout", Nothing),
    ("POST", "/auth/register", Nothing),
    ("POST", "/auth/verify", Nothing),
    ("POST", "/auth/forgot", Nothing),
    ("POST", "/auth/reset", Nothing),
    ("POST", "/auth/code", Nothing),
    ("POST", "/auth/code/verify", Nothing),
    ("GET", "/auth/sso", Nothing),
    ("GET", "/auth/sso/start", Nothing),
    ("GET", "/auth/sso/callback", Nothing),
    ("GET", "/me", Nothing),
    ("PATCH", "/me", s(Admin)),
    ("POST", "/me/password", s(Admin)),
    ("GET", "/me/preferences", Nothing),
    ("PUT", "/me/preferences", s(Admin)),
    ("POST", "/me/whatsapp", s(Admin)),
    ("POST", "/me/whatsapp/verify", s(Admin)),
    ("*", "/me/mfa*", s(Admin)),
    ("*", "/me/sessions*", s(Admin)),
    // API keys themselves.
    ("GET", "/api-keys", s(Admin)),
    ("POST", "/api-keys", s(Admin)),
    ("DELETE", "/api-keys/{id}", s(Admin)),
    // Tickets.
    ("GET", "/tickets", s(TicketsRead)),
    ("POST", "/tickets", s(TicketsWrite)),
    ("GET", "/tickets/{id}", s(TicketsRead)),
    ("PATCH", "/tickets/{id}", s(TicketsWrite)),
    ("GET", "/tickets/{id}/events", s(TicketsRead)),
    ("POST", "/tickets/{id}/assign", s(TicketsWrite)),
    ("POST", "/tickets/bulk", s(TicketsWrite)),
    ("POST", "/tickets/{id}/messages", s(MessagesWrite)),
    ("POST", "/tickets/{id}/merge", s(TicketsWrite)),
    ("POST", "/tickets/{id}/unmerge", s(TicketsWrite)),
    ("POST", "/tickets/{id}/split", s(TicketsWrite)),
    ("GET", "/tickets/{id}/draft", s(TicketsRead)),
    ("PUT", "/tickets/{id}/draft", s(TicketsWrite)),
    ("DELETE", "/tickets/{id}/draft", s(TicketsWrite)),
    ("GET", "/tickets/{id}/csat", s(TicketsRead)),
    ("POST", "/tickets/{id}/csat", s(TicketsWrite)),
    ("POST", "/tickets/{id}/to-article", s(Admin)),
    ("GET", "/sla/risk", s(TicketsRead)),
    ("GET", "/views", s(TicketsRead)),
    ("POST", "/views", s(TicketsWrite)),
    ("PATCH", "/views/{id}", s(TicketsWrite)),
    ("DELETE", "/views/{id}", s(TicketsWrite)),
    ("GET", "/notifications", s(TicketsRead)),
    ("POST", "/notifications/read", s(TicketsWrite)),
    ("POST", "/uploads", s(MessagesWrite)),
    ("GET", "/media/{hash}", s(TicketsRead)),
    ("GET", "/whatsapp/numbers", s(TicketsRead)),
    ("GET", "/whatsapp/templates", s(TicketsRead)),
    ("POST", "/whatsapp/templates/sync", s(Admin)),
    ("GET", "/whatsapp/conversations", s(TicketsRead)),
    ("GET", "/canned-responses", s(TicketsRead)),
    ("POST", "/canned-responses", s(Admin)),
    ("DELETE", "/canned-responses/{id}", s(Admin)),
    // People.
    ("GET", "/users", s(UsersRead)),
    ("POST", "/users", s(Admin)),
    ("GET", "/users/{id}", s(UsersRead)),
    ("PATCH", "/users/{id}", s(Admin)),
    ("POST", "/users/{id}/tokens", s(Admin)),
    ("GET", "/agents/availability", s(UsersRead)),
    ("GET", "/teams", s(UsersRead)),
    ("POST", "/teams", s(Admin)),
    ("PATCH", "/teams/{id}", s(Admin)),
    ("GET", "/teams/{id}/routing", s(Admin)),
    ("PUT", "/teams/{id}/routing", s(Admin)),
    ("GET", "/companies", s(UsersRead)),
    ("POST", "/companies", s(Admin)),
    ("GET", "/companies/{id}", s(UsersRead)),
    ("PATCH", "/companies/{id}", s(Admin)),
    ("GET", "/companies/{id}/members", s(UsersRead)),
    ("*", "/customers*", s(Admin)),
    // Reports.
    ("GET", "/reports/summary", s(ReportsRead)),
    ("GET", "/reports/agents/{id}", s(ReportsRead)),
    ("GET", "/reports/export", s(ReportsRead)),
    ("GET", "/reports/live", s(ReportsRead)),
    ("GET", "/reports/schedules", s(ReportsRead)),
    ("POST", "/reports/schedules", s(Admin)),
    ("DELETE", "/reports/schedules/{id}", s(Admin)),
    ("GET", "/csat", s(ReportsRead)),
    ("GET", "/csat/funnel", s(ReportsRead)),
    ("GET", "/kb/deflections", s(ReportsRead)),
    // Account settings.
    ("GET", "/account/config", s(TicketsRead)),
    ("GET", "/account/sla-policy", s(TicketsRead)),
    ("PUT", "/account/sla-policy", s(Admin)),
    ("PUT", "/account/priority-matrix", s(Admin)),
    ("PUT", "/account/statuses", s(Admin)),
    ("PUT", "/account/custom-fields", s(Admin)),
    ("GET", "/account/categories", s(TicketsRead)),
    ("POST", "/account/categories", s(Admin)),
    ("GET", "/account/csat", s(TicketsRead)),
    ("PUT", "/account/csat", s(Admin)),
    ("GET", "/account/security", s(Admin)),
    ("PUT", "/account/security", s(Admin)),
    ("GET", "/account/sso", s(Admin)),
    ("PUT", "/account/sso", s(Admin)),
    ("*", "/account/channel-secrets*", s(Admin)),
    ("*", "/automations*", s(Admin)),
    ("*", "/audit*", s(Admin)),
    // Data protection (issue 17 item 7): admins' work, and the customer's own requests.
    ("*", "/customers/{id}/*", s(Admin)),
    ("*", "/account/retention", s(Admin)),
    ("*", "/data-requests*", s(Admin)),
    ("*", "/me/data-requests*", s(Admin)),
    ("*", "/webhooks*", s(WebhooksManage)),
    // The knowledge base: staff read it, its editors write it.
    ("GET", "/kb/categories", s(TicketsRead)),
    ("POST", "/kb/categories", s(Admin)),
    ("PATCH", "/kb/categories/{id}", s(Admin)),
    ("DELETE", "/kb/categories/{id}", s(Admin)),
    ("GET", "/kb/articles", s(TicketsRead)),
    ("POST", "/kb/articles", s(Admin)),
    ("GET", "/kb/articles/{id}", s(TicketsRead)),
    ("PATCH", "/kb/articles/{id}", s(Admin)),
    ("DELETE", "/kb/articles/{id}", s(Admin)),
    ("POST", "/kb/preview", s(Admin)),
    ("GET", "/kb/access", s(TicketsRead)),
    ("GET", "/kb/editors", s(TicketsRead)),
    ("PUT", "/kb/editors/{user_id}", s(Admin)),
    ("DELETE", "/kb/editors/{user_id}", s(Admin)),
    ("GET", "/site", Nothing),
    ("GET", "/kb/suggest", Nothing),
    ("POST", "/kb/articles/{id}/feedback", Nothing),
    ("POST", "/kb/deflections", Nothing),
    // The socket: each topic is checked on subscribe ([`topic_needs`]).
    ("GET", "/ws", Nothing),
];

/// The listed rule for `method path` (`path` under `/api/v1`), if any.
pub fn listed(method: &str, path: &str) -> Option<Need> {
    let path = path.trim_end_matches('/');
    ROUTES.iter().find_map(|(rule_method, rule_path, need)| {
        let method_matches = *rule_method == "*" || rule_method.eq_ignore_ascii_case(method);
        let path_matches = match rule_path.strip_suffix('*') {
            Some(start) => path.starts_with(start),
            None => *rule_path == path,
        };
        (method_matches && path_matches).then_some(*need)
    })
}

/// What a key needs for a request matched to the route pattern `pattern` (the full path as
/// actix registered it, e.g. `/api/v1/tickets/{id}`): `admin` when the table does not list it.
pub fn route_needs(method: &Method, pattern: Option<&str>) -> Need {
    pattern
        .and_then(|pattern| pattern.strip_prefix("/api/v1"))
        .and_then(|path| listed(method.as_str(), path))
        .unwrap_or(Need::Scope(Scope::Admin))
}

/// What a key needs to follow a WebSocket topic (by its name's kind: `ticket:<id>`, `queue`…).
pub fn topic_needs(topic: &str) -> Scope {
    match topic.split(':').next().unwrap_or_default() {
        "presence" => Scope::UsersRead,
        "dashboard" => Scope::ReportsRead,
        _ => Scope::TicketsRead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_routes_need_admin_and_listed_ones_their_scope() {
        let needs = |method: Method, pattern: &str| route_needs(&method, Some(pattern));
        assert_eq!(needs(Method::GET, "/api/v1/tickets/{id}"), Need::Scope(Scope::TicketsRead));
        assert_eq!(needs(Method::POST, "/api/v1/tickets/{id}/messages"), Need::Scope(Scope::MessagesWrite));
        assert_eq!(needs(Method::GET, "/api/v1/me"), Need::Nothing);
        assert_eq!(needs(Method::GET, "/api/v1/webhooks/{id}/deliveries"), Need::Scope(Scope::WebhooksManage));
        assert_eq!(needs(Method::DELETE, "/api/v1/something-new"), Need::Scope(Scope::Admin));
        assert_eq!(route_needs(&Method::GET, None), Need::Scope(Scope::Admin));
        assert_eq!(topic_needs("ticket:42"), Scope::TicketsRead);
        assert_eq!(topic_needs("queue:all"), Scope::TicketsRead);
        assert_eq!(topic_needs("presence"), Scope::UsersRead);
    }
}
