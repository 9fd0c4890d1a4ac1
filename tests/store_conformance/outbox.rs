//! OutboxPort: outbound send attempts.

use super::*;

/// Email send attempts and the outbox query: queued replies are due until a back-off or done.
pub async fn email_sends(store: &dyn Store) {
    let account = store.create_account("Mail out").await.expect("account");
    let config = store.account_config(account.id).await.expect("config");
    let customer =
        store.create_user(new_user(account.id, "mail-out@example.com", Role::Customer)).await.expect("customer");
    let mut email_draft = draft(account.id, customer.id, "Mail ticket");
    email_draft.channel = Channel::Email;
    let ticket = create(store, &config, email_draft).await;

    let config = Arc::new(config);
    let reply = |body: &str| {
        TicketCommand::AddMessage(NewMessage {
            kind: MessageKind::Reply,
            body: body.to_owned(),
            channel: Some(Channel::Email),
            attachments: Vec::new(),
            then_status: None,
            payload: None,
            provider_id: None,
            window_until: None,
        })
    };
    let ticket = apply(store, &config, &ticket, reply("first reply")).await.expect("reply");
    let ticket = apply(store, &config, &ticket, reply("second reply")).await.expect("reply");
    let unsent = |at: Timestamp| async move {
        let due = store.unsent_email(at, 100).await.expect("unsent");
        due.into_iter().filter(|message| message.ticket_id == ticket.id).map(|message| message.body).collect::<Vec<_>>()
    };
    assert_eq!(unsent(now()).await, ["first reply", "second reply"]);
    let messages = store.ticket_messages(ticket.id).await.expect("messages");
    let first_reply = messages.iter().find(|message| message.body == "first reply").expect("first");
    let second_reply = messages.iter().find(|message| message.body == "second reply").expect("second");
    assert_eq!(store.email_send(&first_reply.id).await.expect("read"), None);

    // Deferred: not due until its time; done: never again.
    let later = now() + SignedDuration::from_mins(5);
    let deferred = EmailSend {
        attempts: 1,
        next_attempt_at: Some(later),
        last_error: Some("451 busy".to_owned()),
        ..EmailSend::fresh(first_reply)
    };
    store.save_email_send(&deferred).await.expect("save");
    assert_eq!(store.email_send(&first_reply.id).await.expect("read"), Some(deferred.clone()));
    assert_eq!(unsent(now()).await, ["second reply"]);
    assert_eq!(unsent(later + SignedDuration::from_secs(1)).await, ["first reply", "second reply"]);
    store.save_email_send(&EmailSend { done: true, ..EmailSend::fresh(second_reply) }).await.expect("save");
    assert_eq!(unsent(later + SignedDuration::from_secs(1)).await, ["first reply"]);
    let sent = EmailSend { attempts: 2, next_attempt_at: None, last_error: None, done: true, ..deferred };
    store.save_email_send(&sent).await.expect("update");
    assert_eq!(store.email_send(&first_reply.id).await.expect("read"), Some(sent));
    assert!(unsent(later + SignedDuration::from_secs(1)).await.is_empty());
}
