//! RoutingPort: team settings kept per account, agents' skills and languages, the router lease
//! (one holder at a time, taken over only once expired, given up on release), and what the
//! router reads of tickets (unassigned and held ones of the routed teams, loads).

use switchboard_actors::routing::{OfflinePolicy, TeamRouting};
use switchboard_actors::ticket::Assignment;

use super::*;

pub async fn routing_settings_leases_and_queues(store: &dyn Store) {
    let account = store.create_account("Routing").await.expect("account");
    let other = store.create_account("Elsewhere").await.expect("account");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let agent = store.create_user(new_user(account.id, "a@routing.example", Role::Agent)).await.expect("agent");
    let customer =
        store.create_user(new_user(account.id, "c@routing.example", Role::Customer)).await.expect("customer");
    assert_eq!((agent.skills.clone(), agent.languages.clone()), (Vec::new(), Vec::new()), "none until set");
    let patch = UserPatch {
        skills: Some(vec!["finance".into()]),
        languages: Some(vec!["spa".into(), "eng".into()]),
        ..UserPatch::default()
    };
    let agent = store.update_user(account.id, agent.id, patch).await.expect("skills");
    assert_eq!(agent.skills, vec!["finance".to_owned()]);
    assert_eq!(agent.languages, vec!["spa".to_owned(), "eng".to_owned()], "in the order given");
    let listed = store.list_users(account.id, Some(Role::Agent)).await.expect("list");
    assert_eq!(listed[0].languages, agent.languages);

    let team = |name: &str| NewTeam {
        account_id: account.id,
        name: name.into(),
        description: String::new(),
        member_ids: vec![agent.id],
    };
    let routed = store.create_team(team("Routed")).await.expect("team");
    let manual = store.create_team(team("Manual")).await.expect("team");
    assert!(store.team_routings(account.id).await.expect("none").is_empty());
    let settings = TeamRouting {
        mode: RoutingMode::LeastLoaded,
        offline_policy: OfflinePolicy::Reassign,
        reassign_if_no_reply_minutes: Some(15),
        skill_tags: [("billing".to_owned(), "finance".to_owned())].into(),
        ..TeamRouting::default()
    };
    store.set_team_routing(account.id, routed.id, &settings).await.expect("save");
    assert_eq!(store.team_routings(account.id).await.expect("read"), vec![(routed.id, settings.clone())]);
    let changed = TeamRouting { mode: RoutingMode::RoundRobin, ..settings };
    store.set_team_routing(account.id, routed.id, &changed).await.expect("replace");
    assert_eq!(store.team_routings(account.id).await.expect("read"), vec![(routed.id, changed)]);
    assert!(matches!(
        store.set_team_routing(other.id, routed.id, &TeamRouting::default()).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.team_routings(other.id).await.expect("other").is_empty(), "no query crosses accounts");

    // The lease: one holder; another node only after it expires; renewal by the holder; release.
    let t0 = now();
    let later = |secs: i64| t0 + SignedDuration::from_secs(secs);
    assert!(store.claim_router_lease(account.id, "node-a", t0, later(10)).await.expect("claim"));
    assert!(!store.claim_router_lease(account.id, "node-b", later(5), later(15)).await.expect("held"));
    assert!(store.claim_router_lease(account.id, "node-a", later(5), later(15)).await.expect("renew"));
    assert!(!store.claim_router_lease(account.id, "node-b", later(14), later(24)).await.expect("still held"));
    assert!(store.claim_router_lease(account.id, "node-b", later(15), later(25)).await.expect("expired: taken"));
    assert!(!store.claim_router_lease(account.id, "node-a", later(16), later(26)).await.expect("lost"));
    assert!(store.claim_router_lease(other.id, "node-a", later(16), later(26)).await.expect("per account"));
    store.release_router_lease(account.id, "node-a").await.expect("not the holder: nothing");
    assert!(!store.claim_router_lease(account.id, "node-a", later(17), later(27)).await.expect("b still holds"));
    store.release_router_lease(account.id, "node-b").await.expect("release");
    assert!(store.claim_router_lease(account.id, "node-a", later(17), later(27)).await.expect("free at once"));

    // What the router reads: unassigned new/open tickets of the given teams, then held ones.
    let in_team =
        |subject: &str, team: TeamId| TicketDraft { team_id: Some(team), ..draft(account.id, customer.id, subject) };
    let first = create(store, &config, in_team("first", routed.id)).await;
    let second = create(store, &config, in_team("second", routed.id)).await;
    let elsewhere = create(store, &config, in_team("manual team", manual.id)).await;
    let none = create(store, &config, draft(account.id, customer.id, "no team")).await;
    let resolved = create(store, &config, in_team("resolved", routed.id)).await;
    apply(
        store,
        &config,
        &resolved,
        TicketCommand::Update(TicketPatch { status: Some("resolved".into()), ..TicketPatch::default() }),
    )
    .await
    .expect("resolve");
    let ids = |tickets: Vec<Ticket>| tickets.into_iter().map(|ticket| ticket.id).collect::<Vec<_>>();
    let routable = store.routable_tickets(account.id, &[routed.id], 100).await.expect("routable");
    assert_eq!(ids(routable), vec![first.id, second.id], "oldest first; resolved and other teams left out");
    assert_eq!(ids(store.routable_tickets(account.id, &[routed.id], 1).await.expect("limit")), vec![first.id]);
    assert!(store.routable_tickets(account.id, &[], 100).await.expect("no teams").is_empty());
    assert!(store.routable_tickets(other.id, &[routed.id], 100).await.expect("other").is_empty());
    let both = ids(store.routable_tickets(account.id, &[routed.id, manual.id], 100).await.expect("both"));
    assert_eq!(both, vec![first.id, second.id, elsewhere.id]);
    assert!(!both.contains(&none.id));

    let assign = TicketCommand::Assign(Assignment {
        assignee_id: Some(agent.id),
        team_id: Some(routed.id),
        reason: Some("routed".into()),
        explanation: Some(AssignmentExplanation {
            mode: RoutingMode::LeastLoaded,
            trigger: "new".into(),
            why: "routed".into(),
            eligible: 1,
            ..AssignmentExplanation::default()
        }),
    });
    apply(store, &config, &first, assign).await.expect("assign");
    assert_eq!(ids(store.routable_tickets(account.id, &[routed.id], 100).await.expect("routable")), vec![second.id]);
    assert_eq!(ids(store.held_tickets(account.id, &[routed.id], 100).await.expect("held")), vec![first.id]);
    assert_eq!(store.open_loads(account.id).await.expect("loads"), vec![(agent.id, 1)]);
    assert!(store.open_loads(other.id).await.expect("other").is_empty());
    // The explanation is kept with the event.
    let events = store.ticket_events(first.id, 0, 100).await.expect("events");
    let kept = events.iter().find_map(|event| match &event.kind {
        EventKind::Assigned { explanation: Some(explanation), .. } => Some(explanation.why.clone()),
        _ => None,
    });
    assert_eq!(kept.as_deref(), Some("routed"));
}
