//! ViewsPort: saved views kept per account in position order, changed whole, deleted once; and
//! the ticket counts and ids views are counted and followed with.

use switchboard_actors::query::filter::Test;
use switchboard_actors::views::{NewView, ViewChange, ViewScope};

use super::*;

pub async fn saved_views_and_counts(store: &dyn Store) {
    let account = store.create_account("Views").await.expect("account");
    let other = store.create_account("Elsewhere").await.expect("account");
    let agent = store.create_user(new_user(account.id, "a@views.example", Role::Agent)).await.expect("agent");
    let new = |name: &str, position: Option<i64>| NewView {
        account_id: account.id,
        owner_id: agent.id,
        name: name.into(),
        query: "status: open".into(),
        sort: TicketSort::SlaDueAsc,
        scope: ViewScope::Personal,
        team_id: None,
        position,
    };
    let first = store.create_view(new("First", None)).await.expect("first");
    let second = store.create_view(new("Second", None)).await.expect("second");
    let top = store.create_view(new("Top", Some(0))).await.expect("top");
    assert_eq!((first.position, second.position, top.position), (1, 2, 0), "appended unless placed");
    assert_eq!(first.sort, TicketSort::SlaDueAsc);
    let names: Vec<String> =
        store.list_views(account.id).await.expect("list").into_iter().map(|view| view.name).collect();
    assert_eq!(names, ["Top", "First", "Second"]);
    assert!(store.list_views(other.id).await.expect("other").is_empty(), "no query crosses accounts");
    assert!(store.view(other.id, first.id).await.expect("read").is_none());

    let change = ViewChange {
        name: "Renamed".into(),
        query: "urgency: critical".into(),
        sort: TicketSort::UpdatedAsc,
        scope: ViewScope::Account,
        team_id: None,
        position: 5,
    };
    let changed = store.update_view(account.id, first.id, change.clone()).await.expect("update");
    assert_eq!(
        (changed.name.as_str(), changed.query.as_str(), changed.sort, changed.scope, changed.position),
        ("Renamed", "urgency: critical", TicketSort::UpdatedAsc, ViewScope::Account, 5)
    );
    assert_eq!(store.view(account.id, first.id).await.expect("read"), Some(changed));
    assert!(matches!(store.update_view(other.id, first.id, change).await, Err(StoreError::NotFound)));
    store.delete_view(account.id, second.id).await.expect("delete");
    assert!(matches!(store.delete_view(account.id, second.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_views(account.id).await.expect("list").len(), 2);

    let customer = store.create_user(new_user(account.id, "c@views.example", Role::Customer)).await.expect("c");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut ticket = draft(account.id, customer.id, &format!("Ticket {n}"));
        if n % 2 == 0 {
            ticket.urgency = Level::Critical;
        }
        ids.push(create(store, &config, ticket).await.id);
    }
    let mut query = TicketQuery::new(account.id);
    query.filter.and(Test::Urgency(vec![Level::Critical]));
    assert_eq!(store.count_tickets(&query).await.expect("count"), 3);
    query.limit = 2;
    assert_eq!(store.matching_ticket_ids(&query).await.expect("ids"), [ids[0], ids[2]], "lowest first, limited");
    query.filter.and(Test::Ids(vec![ids[1], ids[4]]));
    assert_eq!(store.count_tickets(&query).await.expect("one ticket"), 1);
}
