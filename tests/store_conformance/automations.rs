//! AutomationsPort: rules kept per account in position order, changed whole, deleted once; the
//! run log written by the commit that carries `automation_ran` (and only by it), read newest
//! first per rule with counts; a ticket's time-rule waits stored with it.

use switchboard_actors::automation::{
    Action, AutomationWait, NewRule, RuleSpec, RunResult, TicketAutomations, TriggerEvent, When,
};

use super::*;

pub async fn rules_runs_and_waits(store: &dyn Store) {
    let account = store.create_account("Automations").await.expect("account");
    let other = store.create_account("Elsewhere").await.expect("account");
    let admin = store.create_user(new_user(account.id, "a@rules.example", Role::Admin)).await.expect("admin");
    let spec = RuleSpec {
        when: When::Event { event: TriggerEvent::TicketCreated },
        condition: Some("priority: urgent".to_owned()),
        then: vec![Action::AddTags { add_tags: vec!["vip".to_owned()] }],
    };
    let new = |name: &str, position: Option<i64>| NewRule {
        account_id: account.id,
        name: name.to_owned(),
        enabled: true,
        position,
        spec: spec.clone(),
        created_by: admin.id,
    };
    let at = now();
    let first = store.create_rule(new("First", None), at).await.expect("first");
    let second = store.create_rule(new("Second", None), at).await.expect("second");
    let top = store.create_rule(new("Top", Some(0)), at).await.expect("top");
    assert_eq!((first.position, second.position, top.position), (1, 2, 0), "appended unless placed");
    assert_eq!(first.spec, spec, "the rule comes back as written");
    let names: Vec<String> =
        store.list_rules(account.id).await.expect("list").into_iter().map(|rule| rule.name).collect();
    assert_eq!(names, ["Top", "First", "Second"]);
    assert!(store.list_rules(other.id).await.expect("other").is_empty(), "no query crosses accounts");
    assert!(store.rule(other.id, first.id).await.expect("read").is_none());

    let mut changed = first.clone();
    changed.enabled = false;
    changed.position = 9;
    changed.spec.condition = None;
    let changed = store.update_rule(&changed, at).await.expect("update");
    assert_eq!((changed.enabled, changed.position, changed.spec.condition.clone()), (false, 9, None));
    let mut foreign = changed.clone();
    foreign.account_id = other.id;
    assert!(matches!(store.update_rule(&foreign, at).await, Err(StoreError::NotFound)));

    // A run is logged by the commit that records it, with the ticket's waits.
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let customer = store.create_user(new_user(account.id, "c@rules.example", Role::Customer)).await.expect("customer");
    let ticket = create(store, &config, draft(account.id, customer.id, "Ruled")).await;
    let mut next = ticket.clone();
    next.automations = TicketAutomations {
        waits: [(second.id, AutomationWait { since: at, due_at: at + SignedDuration::from_hours(2), fired: true })]
            .into(),
    };
    let ran = |result| EventKind::AutomationRan {
        rule_id: second.id,
        name: "Second".to_owned(),
        actions: vec!["add_tags".to_owned()],
        result,
        error: None,
        late_by_ms: Some(1_500),
        depth: 1,
        notify: Vec::new(),
    };
    let events = next.append(vec![ran(RunResult::Ok)], None, at);
    store
        .commit(TicketCommit { ticket: next.clone(), messages: Vec::new(), events, timers: Vec::new() })
        .await
        .expect("run");
    let later = at + SignedDuration::from_secs(1);
    let events = next.append(vec![ran(RunResult::Failed)], None, later);
    store
        .commit(TicketCommit { ticket: next.clone(), messages: Vec::new(), events, timers: Vec::new() })
        .await
        .expect("run");

    let stored = store.ticket(ticket.id).await.expect("read").expect("ticket");
    assert_eq!(stored.automations, next.automations, "waits are stored with the ticket");
    let runs = store.rule_runs(account.id, second.id, None, 10).await.expect("runs");
    assert_eq!(
        runs.iter().map(|run| run.result).collect::<Vec<_>>(),
        [RunResult::Failed, RunResult::Ok],
        "newest first"
    );
    assert_eq!((runs[1].ticket_id, runs[1].seq, runs[1].ran_at), (ticket.id, next.seq - 1, at));
    assert_eq!(runs[1].detail["late_by_ms"], 1_500);
    let older = store.rule_runs(account.id, second.id, Some(runs[0].id), 10).await.expect("page");
    assert_eq!(older.len(), 1, "the next page starts below the cursor");
    assert!(store.rule_runs(other.id, second.id, None, 10).await.expect("other").is_empty());
    assert!(store.rule_runs(account.id, first.id, None, 10).await.expect("first").is_empty());
    let counts = store.run_counts(account.id, later).await.expect("counts");
    assert_eq!(counts, vec![(second.id, later, 1)], "last run, and runs since");

    store.delete_rule(account.id, top.id).await.expect("delete");
    assert!(matches!(store.delete_rule(account.id, top.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_rule(other.id, first.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_rules(account.id).await.expect("list").len(), 2);
}
