//! WhatsAppPort (with DirectoryPort's first-contact write): customers and conversations.

use super::*;

/// A WhatsApp customer's first message: the customer with both addresses in one write, then
/// the conversation with its window timers in one write.
pub async fn whatsapp_first_contact(store: &dyn Store) {
    let account = store.create_account("First contact").await.expect("account");
    let customer = NewUser::customer(account.id, "bsuid@wa.invalid".into(), "Ana".into(), Some("+15550001".into()));
    let created =
        store.create_customer(customer.clone(), Channel::Whatsapp, &["US.bsuid1", "15550001"]).await.expect("customer");
    assert_eq!(
        (created.role, created.name.as_str(), created.phone.as_deref()),
        (Role::Customer, "Ana", Some("+15550001"))
    );
    for address in ["US.bsuid1", "15550001"] {
        let found = store.customer_by_contact(account.id, Channel::Whatsapp, address).await.expect("lookup");
        assert_eq!(found.map(|user| user.id), Some(created.id), "{address}");
    }
    assert_eq!(store.user(account.id, created.id).await.expect("user"), Some(created.clone()));

    // Created twice (another node won the race): refused, and nothing changed hands.
    let again = store.create_customer(customer, Channel::Whatsapp, &["15559999"]).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.customer_by_contact(account.id, Channel::Whatsapp, "15559999").await.expect("lookup"), None);

    let closes = now().saturating_add(SignedDuration::from_hours(24)).expect("time");
    let closing = closes.saturating_sub(SignedDuration::from_hours(1)).expect("time");
    let conversation = switchboard_actors::whatsapp::Conversation {
        id: 0,
        account_id: account.id,
        phone_number_id: "1001".into(),
        customer_id: created.id,
        wa_id: Some("15550001".into()),
        user_key: "US.bsuid1".into(),
        window_expires_at: Some(closes),
        last_inbound_at: Some(now()),
        current_ticket_id: None,
        opted_out: false,
        referral: None,
        updated_at: now(),
    };
    let saved = store
        .save_conversation_with_timers(&conversation, &[("window_closing", closing), ("window_closed", closes)])
        .await
        .expect("saved");
    assert!(saved.id > 0);
    assert_eq!(store.conversation("1001", created.id).await.expect("read"), Some(saved.clone()));
    assert_eq!(store.conversation_of_customer(account.id, created.id).await.expect("read"), Some(saved.clone()));
    let elsewhere = store.create_account("First contact elsewhere").await.expect("account");
    assert_eq!(store.conversation_of_customer(elsewhere.id, created.id).await.expect("read"), None);
    let horizon = closes.saturating_add(SignedDuration::from_secs(1)).expect("time");
    let owned: Vec<TimerEntry> = store
        .due_timers(horizon, 1000)
        .await
        .expect("timers")
        .into_iter()
        .filter(|entry| {
            entry.owner == TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id)
        })
        .collect();
    assert_eq!(
        owned,
        [
            TimerEntry {
                owner: TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id),
                name: "window_closing".into(),
                due_at: closing
            },
            TimerEntry {
                owner: TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id),
                name: "window_closed".into(),
                due_at: closes
            },
        ]
    );
    // Saving again without timers leaves them as they are.
    store.save_conversation(&saved).await.expect("saved again");
    let still = store.due_timers(horizon, 1000).await.expect("timers");
    assert_eq!(
        still
            .iter()
            .filter(|entry| entry.owner
                == TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id))
            .count(),
        2
    );

    // The console's list: the customer's name and the newest message an agent would show
    // (not the internal note written after it).
    let listed = store.list_conversations(account.id, 10).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].customer_name.as_str(), listed[0].last_message.as_ref()), ("Ana", None));
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let ticket = create(store, &config, draft(account.id, created.id, "On WhatsApp")).await;
    let note = message(MessageKind::Note, "internal only");
    apply(store, &config, &ticket, note).await.expect("note");
    store
        .save_conversation(&switchboard_actors::whatsapp::Conversation { current_ticket_id: Some(ticket.id), ..saved })
        .await
        .expect("linked");
    let listed = store.list_conversations(account.id, 10).await.expect("list");
    let last = listed[0].last_message.as_ref().expect("a last message");
    assert_eq!((last.body.as_str(), last.ticket_id), ("body of On WhatsApp", ticket.id));
}

/// Templates are the account's: saved and read per account, updated in place by name and
/// language.
pub async fn templates_per_account(store: &dyn Store) {
    let ours = store.create_account("Templates A").await.expect("account");
    let theirs = store.create_account("Templates B").await.expect("account");
    let template = |status: &str| switchboard_actors::whatsapp::Template {
        name: "order_update".into(),
        language: "en_US".into(),
        category: "UTILITY".into(),
        status: status.into(),
        body: "Your order {{1}} shipped".into(),
        parameter_count: 1,
    };
    store.save_template(ours.id, &template("PENDING"), now()).await.expect("save");
    store.save_template(ours.id, &template("APPROVED"), now()).await.expect("update");
    store.save_template(theirs.id, &template("REJECTED"), now()).await.expect("same name, other account");
    assert_eq!(store.templates(ours.id).await.expect("read"), [template("APPROVED")]);
    assert_eq!(store.templates(theirs.id).await.expect("read"), [template("REJECTED")]);
}
