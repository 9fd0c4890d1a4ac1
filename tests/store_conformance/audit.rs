//! AuditPort: the audit log (migration 0035).

use serde_json::json;
use switchboard_actors::audit::{AuditFilter, NewAuditEntry};

use super::*;

fn entry(account: AccountId, actor: Option<UserId>, action: &str, at: Timestamp) -> NewAuditEntry {
    NewAuditEntry {
        account_id: account,
        at,
        actor_id: actor,
        actor_ip: Some("203.0.113.7".into()),
        action: action.into(),
        target_type: Some("team".into()),
        target_id: Some("7".into()),
        before: Some(json!({"name": "Old"})),
        after: Some(json!({"name": "New", "nested": [1, {"a": null}]})),
    }
}

/// Entries round-trip with their JSON; pages are per account, newest first, filtered by period,
/// actor, action or family and a cursor; retention deletes only the account's older entries;
/// the retention setting defaults to 365 days.
pub async fn audit_entries_filter_page_and_expire(store: &dyn Store) {
    let account = store.create_account("Audited").await.expect("account");
    let other = store.create_account("Other audited").await.expect("account");
    let admin = store.create_user(new_user(account.id, "admin@audit.example", Role::Admin)).await.expect("admin");
    let start = now();
    let at = |hours: i64| start.saturating_add(SignedDuration::from_hours(hours)).expect("time");
    let first = store.append_audit(entry(account.id, Some(admin.id), "team.created", at(0))).await.expect("append");
    assert_eq!(first.after, Some(json!({"name": "New", "nested": [1, {"a": null}]})));
    assert_eq!((first.actor_ip.as_deref(), first.target_id.as_deref()), (Some("203.0.113.7"), Some("7")));
    let second = store.append_audit(entry(account.id, None, "auth.login_failed", at(1))).await.expect("append");
    let third = store.append_audit(entry(account.id, Some(admin.id), "team.updated", at(2))).await.expect("append");
    store.append_audit(entry(other.id, None, "team.created", at(0))).await.expect("append");

    let ids = |entries: Vec<switchboard_actors::audit::AuditEntry>| entries.iter().map(|e| e.id).collect::<Vec<_>>();
    let all = AuditFilter::default();
    assert_eq!(ids(store.audit_entries(account.id, &all, 10).await.expect("page")), [third.id, second.id, first.id]);
    let family = AuditFilter { action: Some("team.".into()), ..AuditFilter::default() };
    assert_eq!(ids(store.audit_entries(account.id, &family, 10).await.expect("page")), [third.id, first.id]);
    let exact = AuditFilter { action: Some("team.created".into()), ..AuditFilter::default() };
    assert_eq!(ids(store.audit_entries(account.id, &exact, 10).await.expect("page")), [first.id]);
    let actor = AuditFilter { actor_id: Some(admin.id), ..AuditFilter::default() };
    assert_eq!(ids(store.audit_entries(account.id, &actor, 10).await.expect("page")), [third.id, first.id]);
    let period = AuditFilter { from: Some(at(1)), to: Some(at(2)), ..AuditFilter::default() };
    assert_eq!(ids(store.audit_entries(account.id, &period, 10).await.expect("page")), [second.id]);
    let after_cursor = AuditFilter { before_id: Some(third.id), ..AuditFilter::default() };
    assert_eq!(ids(store.audit_entries(account.id, &after_cursor, 1).await.expect("page")), [second.id]);

    let with_entries = store.audit_account_ids().await.expect("accounts");
    assert!(with_entries.contains(&account.id) && with_entries.contains(&other.id), "{with_entries:?}");
    let quiet = store.create_account("Quiet").await.expect("account");
    assert!(!store.audit_account_ids().await.expect("accounts").contains(&quiet.id));
    assert_eq!(store.audit_retention_days(account.id).await.expect("days"), 365);
    store.set_audit_retention_days(account.id, 90).await.expect("set");
    assert_eq!(store.audit_retention_days(account.id).await.expect("days"), 90);
    assert_eq!(store.delete_audit_before(account.id, at(2)).await.expect("delete"), 2);
    assert_eq!(ids(store.audit_entries(account.id, &all, 10).await.expect("page")), [third.id]);
    assert_eq!(store.audit_entries(other.id, &all, 10).await.expect("page").len(), 1, "another account's stay");
}
