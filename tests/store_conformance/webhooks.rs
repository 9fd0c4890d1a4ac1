//! WebhooksPort: subscriptions per account, deliveries queued only with the dispatcher's cursor
//! move (once per subscription and event), only the first pending delivery of a ticket due,
//! claims held by one caller, attempts recorded with the failing streak, disabling once with its
//! notifications, the delivery log and redelivery.

use switchboard_actors::notifications::{NewNotification, NotificationKind};
use switchboard_actors::webhooks::*;

use super::*;

fn delivery(webhook: &Webhook, ticket: &Ticket, position: i64, seq: i64) -> NewDelivery {
    NewDelivery {
        webhook_id: webhook.id,
        account_id: webhook.account_id,
        position,
        ticket_id: ticket.id,
        seq,
        event_type: "message_added".to_owned(),
        body: format!("{{\"seq\":{seq}}}"),
    }
}

pub async fn deliveries_queue_once_and_leave_in_order(store: &dyn Store) {
    let account = store.create_account("Hooks").await.expect("account");
    let other = store.create_account("Other hooks").await.expect("account");
    let admin = store.create_user(new_user(account.id, "admin@hooks.example", Role::Admin)).await.expect("admin");
    let customer = store.create_user(new_user(account.id, "c@hooks.example", Role::Customer)).await.expect("user");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let first = create(store, &config, draft(account.id, customer.id, "First")).await;
    let second = create(store, &config, draft(account.id, customer.id, "Second")).await;
    let at = now();

    let new = NewWebhook {
        account_id: account.id,
        url: "https://example.com/hook".to_owned(),
        events: vec!["*".to_owned()],
        secret: "whsec_0123456789abcdef".to_owned(),
        active: true,
        allow_private: false,
        created_by: admin.id,
    };
    let webhook = store.create_webhook(&new, at).await.expect("created");
    assert_eq!(
        (webhook.secret.as_str(), webhook.active, webhook.failing_since),
        ("whsec_0123456789abcdef", true, None)
    );
    assert_eq!(store.webhooks(account.id).await.expect("list"), vec![webhook.clone()]);
    assert!(store.webhook(other.id, webhook.id).await.expect("read").is_none(), "another account's is not found");
    assert!(store.update_webhook(other.id, webhook.id, &WebhookPatch::default(), at).await.expect("update").is_none());
    assert!(!store.delete_webhook(other.id, webhook.id).await.expect("delete"));
    assert!(store.active_webhooks().await.expect("active").iter().any(|active| active.id == webhook.id));

    // Queued with the cursor's move; a second writer from the same cursor writes nothing.
    let from = store.webhook_position().await.expect("cursor");
    let items = [
        delivery(&webhook, &first, from + 1, 1),
        delivery(&webhook, &second, from + 2, 1),
        delivery(&webhook, &first, from + 3, 2),
    ];
    store.enqueue_webhook_deliveries(from, from + 3, &items, at).await.expect("queued");
    let late = store.enqueue_webhook_deliveries(from, from + 3, &items, at).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(store.webhook_position().await.expect("cursor"), from + 3);
    // The same event queued again (a retried page) stays one delivery.
    store.enqueue_webhook_deliveries(from + 3, from + 3, &items[..1], at).await.expect("requeued");
    assert_eq!(store.webhook_deliveries(account.id, webhook.id, None, 50).await.expect("log").len(), 3);
    // A pass with nothing to deliver moves the cursor alone; from a stale cursor it is refused.
    store.enqueue_webhook_deliveries(from + 3, from + 4, &[], at).await.expect("empty pass");
    let late = store.enqueue_webhook_deliveries(from + 3, from + 4, &[], at).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(store.webhook_position().await.expect("cursor"), from + 4);

    // Only the first pending delivery of each ticket is due.
    let due = store.due_webhook_deliveries(at, 10).await.expect("due");
    let positions: Vec<i64> = due.iter().map(|item| item.delivery.position).collect();
    assert_eq!(positions, [from + 1, from + 2]);
    assert_eq!(due[0].webhook.secret, "whsec_0123456789abcdef");
    let held = due[0].delivery.clone();
    let hold = at + SignedDuration::from_secs(60);
    assert!(store.claim_webhook_delivery(held.id, at, hold).await.expect("claim"));
    assert!(!store.claim_webhook_delivery(held.id, at, hold).await.expect("claim"), "held once");
    assert_eq!(store.due_webhook_deliveries(at, 10).await.expect("due").len(), 1, "a held delivery is not due");

    // A failure starts the streak and keeps the ticket's next delivery waiting.
    let retry_at = at + SignedDuration::from_secs(30);
    let failed = AttemptRecord {
        delivery_id: held.id,
        webhook_id: webhook.id,
        at,
        status_code: Some(500),
        response_ms: 12,
        error: Some("answered 500".to_owned()),
        next: AttemptNext::RetryAt(retry_at),
        disable: None,
    };
    assert!(store.record_webhook_attempt(&failed).await.expect("recorded").is_none());
    let read = store.webhook(account.id, webhook.id).await.expect("read").expect("webhook");
    assert_eq!(read.failing_since, Some(at));
    let due: Vec<i64> = store
        .due_webhook_deliveries(retry_at, 10)
        .await
        .expect("due")
        .iter()
        .map(|item| item.delivery.position)
        .collect();
    assert_eq!(due, [from + 2, from + 1], "oldest due first");

    // Success ends the streak and lets the ticket's next delivery go.
    let delivered = AttemptRecord {
        at: retry_at,
        status_code: Some(200),
        error: None,
        next: AttemptNext::Delivered,
        ..failed.clone()
    };
    store.record_webhook_attempt(&delivered).await.expect("recorded");
    assert_eq!(store.webhook(account.id, webhook.id).await.expect("read").expect("webhook").failing_since, None);
    let due: Vec<i64> = store
        .due_webhook_deliveries(retry_at, 10)
        .await
        .expect("due")
        .iter()
        .map(|item| item.delivery.position)
        .collect();
    assert_eq!(due, [from + 2, from + 3]);
    let log = store.webhook_deliveries(account.id, webhook.id, None, 50).await.expect("log");
    let logged = log.iter().find(|item| item.id == held.id).expect("in the log");
    assert_eq!(
        (logged.status, logged.attempts, logged.last_status_code, logged.delivered_at),
        (DeliveryState::Delivered, 2, Some(200), Some(retry_at))
    );

    // Disabling happens once, with its notifications.
    let notice = NewNotification {
        account_id: account.id,
        user_id: admin.id,
        kind: NotificationKind::WebhookDisabled,
        ticket_id: first.id,
        ticket_number: first.number,
        subject: first.subject.clone(),
        actor_id: None,
        text: "disabled".to_owned(),
        critical: false,
        position: from + 3,
    };
    let next = store.due_webhook_deliveries(retry_at, 10).await.expect("due")[0].delivery.clone();
    let disabling = AttemptRecord {
        delivery_id: next.id,
        next: AttemptNext::RetryAt(retry_at + SignedDuration::from_hours(1)),
        disable: Some(("failed for 24 hours".to_owned(), vec![notice])),
        ..failed.clone()
    };
    let stored = store.record_webhook_attempt(&disabling).await.expect("recorded").expect("disabled by this call");
    assert_eq!((stored.len(), stored[0].kind), (1, NotificationKind::WebhookDisabled));
    assert!(store.record_webhook_attempt(&disabling).await.expect("recorded").is_none(), "disabled once");
    let read = store.webhook(account.id, webhook.id).await.expect("read").expect("webhook");
    assert_eq!((read.active, read.disabled_reason.as_deref()), (false, Some("failed for 24 hours")));
    assert!(store.due_webhook_deliveries(retry_at + SignedDuration::from_hours(24), 10).await.expect("due").is_empty());
    assert!(!store.active_webhooks().await.expect("active").iter().any(|active| active.id == webhook.id));

    // Enabling clears the reason and the streak; redelivery queues a delivered one again.
    let patch =
        WebhookPatch { active: Some(true), events: Some(vec!["created".to_owned()]), ..WebhookPatch::default() };
    let enabled = store.update_webhook(account.id, webhook.id, &patch, at).await.expect("update").expect("webhook");
    assert_eq!((enabled.active, enabled.disabled_reason, enabled.failing_since), (true, None, None));
    assert_eq!(enabled.events, ["created"]);
    let later = retry_at + SignedDuration::from_hours(2);
    let again =
        store.redeliver_webhook(account.id, webhook.id, held.id, later).await.expect("redeliver").expect("found");
    assert_eq!((again.status, again.next_attempt_at, again.queued_at), (DeliveryState::Pending, Some(later), later));
    assert!(store.redeliver_webhook(other.id, webhook.id, held.id, later).await.expect("redeliver").is_none());

    // The log pages newest first.
    let page = store.webhook_deliveries(account.id, webhook.id, None, 2).await.expect("log");
    assert_eq!(page.len(), 2);
    assert!(page[0].id > page[1].id);
    let rest = store.webhook_deliveries(account.id, webhook.id, Some(page[1].id), 2).await.expect("log");
    assert_eq!(rest.len(), 1);

    // Old delivered and failed deliveries are pruned; pending ones stay.
    let given_up = AttemptRecord { delivery_id: page[0].id, next: AttemptNext::Failed, ..failed.clone() };
    store.record_webhook_attempt(&given_up).await.expect("recorded");
    assert_eq!(store.prune_webhook_deliveries(at).await.expect("prune"), 0, "nothing queued before `at`");
    assert_eq!(store.prune_webhook_deliveries(later).await.expect("prune"), 1, "the failed one goes");
    let left = store.webhook_deliveries(account.id, webhook.id, None, 50).await.expect("log");
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|delivery| delivery.status == DeliveryState::Pending));

    // Deleting takes the log with it.
    assert!(store.delete_webhook(account.id, webhook.id).await.expect("delete"));
    assert!(store.webhook_deliveries(account.id, webhook.id, None, 50).await.expect("log").is_empty());
    assert!(store.webhooks(account.id).await.expect("list").is_empty());
}
