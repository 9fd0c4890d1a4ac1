//! SettingsPort: accounts, their configuration, generated secrets.

use super::*;

pub async fn accounts_and_config(store: &dyn Store) {
    let account = store.create_account("Conformance").await.expect("account");
    assert_eq!(store.account(account.id).await.expect("read").map(|a| a.name), Some("Conformance".to_owned()));
    assert!(store.first_account().await.expect("first").is_some());
    let config = store.account_config(account.id).await.expect("config");
    let keys: Vec<_> = config.statuses.iter().map(|status| status.key.as_str()).collect();
    assert_eq!(keys, ["new", "open", "pending", "resolved", "closed"]);
    assert_eq!(config.priority_matrix, PriorityMatrix::default());
    assert!(config.ticket_types.contains(&"incident".to_owned()));

    let custom = TicketStatus {
        key: "on_hold".into(),
        label: "On hold".into(),
        category: StatusCategory::Pending,
        builtin: false,
    };
    store.upsert_status(account.id, &custom).await.expect("custom status");
    // A built-in status keeps its category whatever an upsert says.
    let relabel = TicketStatus {
        key: "open".into(),
        label: "In progress".into(),
        category: StatusCategory::Closed,
        builtin: false,
    };
    store.upsert_status(account.id, &relabel).await.expect("relabel");
    let field = CustomFieldDef {
        key: "plan".into(),
        label: "Plan".into(),
        field_type: FieldType::Select,
        options: vec!["free".into(), "pro".into()],
        customer_visible: true,
    };
    store.upsert_custom_field(account.id, &field).await.expect("field");
    let parent = store.create_category(account.id, None, "Billing").await.expect("category");
    let child = store.create_category(account.id, Some(parent.id), "Refunds").await.expect("sub-category");
    assert_eq!(child.path, "Billing / Refunds");
    assert!(matches!(store.create_category(account.id, None, "Billing").await, Err(StoreError::Conflict(_))));
    let mut matrix = PriorityMatrix::default();
    matrix.0[0][0] = Priority::Urgent;
    store.set_priority_matrix(account.id, &matrix).await.expect("matrix");

    let config = store.account_config(account.id).await.expect("config");
    assert_eq!(config.status("on_hold").map(|status| status.category), Some(StatusCategory::Pending));
    let open = config.status("open").expect("open");
    assert_eq!((open.label.as_str(), open.category), ("In progress", StatusCategory::Open));
    assert_eq!(config.custom_field("plan"), Some(&field));
    assert_eq!(config.categories.len(), 2);
    assert_eq!(config.priority_matrix.priority(Level::Low, Level::Low), Priority::Urgent);

    assert_eq!(config.sla_policy, None, "no SLA policy until one is set");
    let mut policy = SlaPolicy {
        enabled: true,
        warning_percent: 75,
        targets: vec![SlaTarget {
            priority: Priority::Urgent,
            first_response_minutes: Some(30),
            resolution_minutes: Some(240),
            window_minutes: Some(45),
        }],
        business_hours: Some(BusinessHours {
            time_zone: "America/Sao_Paulo".into(),
            periods: vec![BusinessPeriod { weekday: Weekday::Mon, start: "08:30".into(), end: "18:00".into() }],
            holidays: vec!["2027-02-08".parse().expect("date")],
        }),
    };
    store.set_sla_policy(account.id, &policy).await.expect("policy");
    assert_eq!(store.account_config(account.id).await.expect("config").sla_policy.as_ref(), Some(&policy));
    policy.enabled = false;
    policy.targets.clear();
    policy.business_hours = None;
    store.set_sla_policy(account.id, &policy).await.expect("replace policy");
    assert_eq!(store.account_config(account.id).await.expect("config").sla_policy, Some(policy));
}

/// A secret generated on first run: the first candidate stored wins, later ones (another node,
/// a restart) read it back; names are independent.
pub async fn generated_secrets(store: &dyn Store) {
    let first = store.generated_secret("test.secret", "first-candidate", now()).await.expect("store");
    assert_eq!(first, "first-candidate");
    let again = store.generated_secret("test.secret", "second-candidate", now()).await.expect("read");
    assert_eq!(again, "first-candidate", "the stored value wins");
    let (one, two) = tokio::join!(
        store.generated_secret("test.race", "node-a", now()),
        store.generated_secret("test.race", "node-b", now())
    );
    let (one, two) = (one.expect("node a"), two.expect("node b"));
    assert_eq!(one, two, "two nodes racing agree");
    assert!(one == "node-a" || one == "node-b");
    let other = store.generated_secret("test.other", "other-value", now()).await.expect("other");
    assert_eq!(other, "other-value");
}
