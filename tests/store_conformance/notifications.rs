//! NotificationsPort: notifications stored only together with the notifier's cursor move (a
//! second writer from the same cursor writes nothing), each user's own newest first and paged,
//! read marks, and preferences with the digest's high-water mark.

use switchboard_actors::notifications::{Digest, NewNotification, NotificationKind, Preferences, QuietHours};

use super::*;

fn item(account: AccountId, user: UserId, ticket: &Ticket, position: i64) -> NewNotification {
    NewNotification {
        account_id: account,
        user_id: user,
        kind: NotificationKind::Assigned,
        ticket_id: ticket.id,
        ticket_number: ticket.number,
        subject: ticket.subject.clone(),
        actor_id: None,
        text: format!("note {position}"),
        critical: position % 2 == 0,
        position,
    }
}

pub async fn notifications_move_with_the_cursor(store: &dyn Store) {
    let account = store.create_account("Notify").await.expect("account");
    let ana = store.create_user(new_user(account.id, "ana@notify.example", Role::Agent)).await.expect("user");
    let ben = store.create_user(new_user(account.id, "ben@notify.example", Role::Agent)).await.expect("user");
    let customer = store.create_user(new_user(account.id, "c@notify.example", Role::Customer)).await.expect("user");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let ticket = create(store, &config, draft(account.id, customer.id, "Notify me")).await;

    let from = store.notifier_position().await.expect("cursor");
    let at = now();
    let stored = store
        .record_notifications(
            from,
            from + 2,
            &[item(account.id, ana.id, &ticket, 1), item(account.id, ben.id, &ticket, 2)],
            at,
        )
        .await
        .expect("recorded");
    assert_eq!(stored.len(), 2);
    assert_eq!((stored[0].user_id, stored[0].created_at, stored[0].read_at), (ana.id, at, None));
    assert!(stored[1].critical && stored[1].id > stored[0].id);
    assert_eq!(store.notifier_position().await.expect("cursor"), from + 2);
    // Another node that read the same cursor writes nothing.
    let late = store.record_notifications(from, from + 2, &[item(account.id, ana.id, &ticket, 1)], at).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    // A pass that notifies nobody still moves the cursor.
    store.record_notifications(from + 2, from + 5, &[], at).await.expect("empty pass");
    assert_eq!(store.notifier_position().await.expect("cursor"), from + 5);
    // ... through the group-commit writer: another node's empty pass is refused the same way.
    let late = store.record_notifications(from + 2, from + 5, &[], at).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(store.notifier_position().await.expect("cursor"), from + 5);
    let more: Vec<_> = (3..6).map(|position| item(account.id, ana.id, &ticket, position)).collect();
    let more = store.record_notifications(from + 5, from + 6, &more, at).await.expect("recorded");

    let page = |unread_only, before, limit| NotificationQuery {
        account: account.id,
        user: ana.id,
        unread_only,
        before,
        limit,
    };
    let ids =
        |list: Vec<switchboard_actors::notifications::Notification>| list.iter().map(|n| n.id).collect::<Vec<_>>();
    let all = ids(store.notifications(&page(false, None, 10)).await.expect("list"));
    assert_eq!(all, [more[2].id, more[1].id, more[0].id, stored[0].id], "Ana's own, newest first");
    assert_eq!(
        ids(store.notifications(&page(false, Some(more[1].id), 2)).await.expect("page")),
        [more[0].id, stored[0].id]
    );
    let other_account = NotificationQuery { account: account.id + 1000, ..page(false, None, 10) };
    assert!(store.notifications(&other_account).await.expect("list").is_empty());

    let later = at.checked_add(SignedDuration::from_secs(5)).expect("time");
    // Ben's id changes nothing for Ana, nor Ana's for Ben.
    assert_eq!(
        store
            .mark_notifications_read(account.id, ana.id, Some(&[stored[1].id, more[0].id]), later)
            .await
            .expect("read"),
        1
    );
    assert_eq!(store.unread_notifications(account.id, ana.id).await.expect("count"), 3);
    assert_eq!(store.unread_notifications(account.id, ben.id).await.expect("count"), 1);
    let unread = ids(store.notifications(&page(true, None, 10)).await.expect("unread"));
    assert_eq!(unread, [more[2].id, more[1].id, stored[0].id]);
    let read = store.notifications(&page(false, None, 10)).await.expect("list");
    assert_eq!(read[2].read_at, Some(later));
    assert_eq!(store.mark_notifications_read(account.id, ana.id, None, later).await.expect("read all"), 3);
    assert_eq!(store.unread_notifications(account.id, ana.id).await.expect("count"), 0);
    assert_eq!(store.mark_notifications_read(account.id, ana.id, Some(&[]), later).await.expect("none"), 0);

    assert_eq!(store.notification_preferences(account.id, ana.id).await.expect("preferences"), None);
    let mut preferences = Preferences {
        quiet_hours: Some(QuietHours { from: "22:00".to_owned(), to: "07:00".to_owned() }),
        digest: Digest::Daily,
        ..Preferences::default()
    };
    preferences.kinds.mention = false;
    store.set_notification_preferences(account.id, ana.id, &preferences, at).await.expect("saved");
    assert_eq!(store.notification_preferences(account.id, ana.id).await.expect("read"), Some((preferences.clone(), 0)));
    store.set_digest_covered(account.id, ana.id, more[2].id).await.expect("covered");
    store.set_digest_covered(account.id, ana.id, more[0].id).await.expect("never backwards");
    preferences.digest = Digest::Hourly;
    store.set_notification_preferences(account.id, ana.id, &preferences, later).await.expect("replaced");
    assert_eq!(
        store.notification_preferences(account.id, ana.id).await.expect("read"),
        Some((preferences, more[2].id)),
        "saving preferences keeps the digest's mark"
    );
    assert_eq!(store.notification_preferences(account.id, ben.id).await.expect("other user"), None);
}
