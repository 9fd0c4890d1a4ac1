//! ReportsPort: a ticket's measures are replaced whole together with the cursor's move (a second
//! writer from the same cursor writes nothing), the per-day aggregates follow the replacement
//! exactly, reads are limited to a period and a scope, and a reset empties everything.

use switchboard_actors::query::filter::TicketFilter;
use switchboard_actors::reports::measures::{Dimensions, Measure, Metric};
use switchboard_actors::reports::{DailyTotal, MeasureQuery, MeasureScope};

use super::*;

fn measure(ticket: &Ticket, metric: Metric, at: Timestamp, actor: Option<UserId>, team: Option<TeamId>) -> Measure {
    Measure {
        account_id: ticket.account_id,
        ticket_id: ticket.id,
        metric,
        at,
        day: at.to_zoned(jiff::tz::TimeZone::UTC).date(),
        value_ms: (metric == Metric::FirstResponse).then_some(90_000),
        business_ms: None,
        replies: None,
        actor_id: actor,
        detail: None,
        dimensions: Dimensions {
            assignee_id: actor,
            team_id: team,
            channel: Some(Channel::Web),
            company_id: None,
            category_id: None,
            priority: Some(Priority::Medium),
        },
    }
}

/// The aggregate cell of `metric` for agent `user`, if any.
async fn agent_cell(store: &dyn Store, account: AccountId, metric: Metric, user: UserId) -> Option<DailyTotal> {
    store
        .daily_aggregates(account)
        .await
        .expect("aggregates")
        .into_iter()
        .find(|(key, _)| key.metric == metric && key.dimension == "agent" && key.key == user.to_string())
        .map(|(_, total)| total)
}

pub async fn measures_replace_with_the_cursor(store: &dyn Store) {
    let account = store.create_account("Reports").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@reports.example", Role::Customer)).await.expect("user");
    let ana = store.create_user(new_user(account.id, "ana@reports.example", Role::Agent)).await.expect("user");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let ticket = create(store, &config, draft(account.id, customer.id, "Report me")).await;
    let at = now();
    let later = at.checked_add(SignedDuration::from_secs(90)).expect("time");

    let first_version = vec![
        measure(&ticket, Metric::Created, at, None, None),
        measure(&ticket, Metric::Reply, later, Some(ana.id), Some(7)),
        measure(&ticket, Metric::FirstResponse, later, Some(ana.id), Some(7)),
    ];
    let from = store.report_position().await.expect("cursor");
    store.record_measures(from, from + 1, &[(ticket.id, first_version.clone())]).await.expect("recorded");
    assert_eq!(store.report_position().await.expect("cursor"), from + 1);
    let everything = MeasureQuery {
        account: account.id,
        from: at,
        to: later.checked_add(SignedDuration::from_millis(1)).expect("time"),
        filter: None,
        scope: MeasureScope::Account,
    };
    let mut read = store.measures(&everything).await.expect("measures");
    read.sort_by_key(|measure| (measure.at, measure.metric));
    let mut expected = first_version.clone();
    expected.sort_by_key(|measure| (measure.at, measure.metric));
    assert_eq!(read, expected);
    let cell = agent_cell(store, account.id, Metric::FirstResponse, ana.id).await;
    assert_eq!(cell, Some(DailyTotal { count: 1, sum_ms: 90_000 }));

    // Another node that read the same cursor writes nothing.
    let late = store.record_measures(from, from + 1, &[(ticket.id, first_version.clone())]).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(agent_cell(store, account.id, Metric::Reply, ana.id).await.map(|total| total.count), Some(1));

    // The ticket's log grew: its measures are replaced, and the aggregates move by the difference.
    let second_version = vec![
        measure(&ticket, Metric::Created, at, None, None),
        measure(&ticket, Metric::Reply, later, Some(ana.id), Some(7)),
        measure(&ticket, Metric::Reply, later, Some(ana.id), Some(7)),
    ];
    store.record_measures(from + 1, from + 3, &[(ticket.id, second_version.clone())]).await.expect("recorded");
    assert_eq!(store.measures(&everything).await.expect("measures").len(), 3);
    assert_eq!(agent_cell(store, account.id, Metric::Reply, ana.id).await.map(|total| total.count), Some(2));
    assert_eq!(agent_cell(store, account.id, Metric::FirstResponse, ana.id).await, None, "a cell at zero is gone");

    // The period's end is excluded; scopes keep to teams or a person; a filter to its tickets.
    let before_reply = MeasureQuery { to: later, ..everything.clone() };
    assert_eq!(store.measures(&before_reply).await.expect("measures").len(), 1);
    let team = |teams: Vec<TeamId>, person: Option<UserId>| MeasureQuery {
        scope: MeasureScope::Teams { teams, person },
        ..everything.clone()
    };
    assert_eq!(store.measures(&team(vec![7], None)).await.expect("measures").len(), 2);
    assert_eq!(store.measures(&team(vec![8], None)).await.expect("measures").len(), 0);
    assert_eq!(store.measures(&team(Vec::new(), Some(ana.id))).await.expect("measures").len(), 2);
    let other_tickets = TicketFilter { words: vec!["nothing-matches-this".to_owned()], ..TicketFilter::default() };
    let filtered = MeasureQuery { filter: Some(other_tickets), ..everything.clone() };
    assert!(store.measures(&filtered).await.expect("measures").is_empty());

    store.reset_reports().await.expect("reset");
    assert_eq!(store.report_position().await.expect("cursor"), 0);
    assert!(store.measures(&everything).await.expect("measures").is_empty());
    assert!(store.daily_aggregates(account.id).await.expect("aggregates").is_empty());
}
