use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use switchboard_actors::agent::AgentPresence;
use switchboard_actors::domain::PresenceStatus;

use super::PresenceBoard;

const ACCOUNT: i64 = 1;

fn at(seconds: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(1_800_000_000 + seconds)
}

fn report(user: i64, node: &str, status: PresenceStatus, sockets: usize, reported: i64) -> AgentPresence {
    AgentPresence {
        user_id: user,
        account_id: ACCOUNT,
        name: format!("Agent {user}"),
        status,
        since: at(reported),
        manual: None,
        viewing: None,
        typing: None,
        load: 0,
        capacity: 5,
        sockets,
        node: node.to_owned(),
        reported_at: at(reported),
    }
}

fn board() -> PresenceBoard {
    PresenceBoard::new("here".to_owned(), Duration::from_secs(30))
}

#[test]
fn nodes_disagreeing_about_an_agent_show_the_most_present_status_and_every_socket() {
    let board = board();
    board.apply(report(7, "here", PresenceStatus::Away, 1, 0));
    let change = board.apply(report(7, "there", PresenceStatus::Online, 2, 1));
    assert_eq!(change.before.map(|row| row.status), Some(PresenceStatus::Away));
    let row = change.after.expect("on the board");
    assert_eq!((row.status, row.node.as_str(), row.sockets), (PresenceStatus::Online, "there", 3));
    board.apply(report(7, "there", PresenceStatus::Busy, 2, 2));
    let row = board.row(ACCOUNT, 7).expect("on the board");
    assert_eq!((row.status, row.sockets), (PresenceStatus::Busy, 3), "busy outranks away");
}

#[test]
fn an_offline_report_without_sockets_takes_the_agent_off_the_board() {
    let board = board();
    board.apply(report(7, "here", PresenceStatus::Online, 1, 0));
    board.apply(report(8, "here", PresenceStatus::Online, 1, 0));
    let change = board.apply(report(7, "here", PresenceStatus::Offline, 0, 5));
    assert!(change.before.is_some() && change.after.is_none());
    assert_eq!(change.shown.status, PresenceStatus::Offline, "shown as the last report");
    assert_eq!(board.board(ACCOUNT).iter().map(|row| row.user_id).collect::<Vec<_>>(), [8]);
    assert!(board.board(ACCOUNT + 1).is_empty(), "another account's board is its own");
}

#[test]
fn reports_of_silent_nodes_expire_and_this_nodes_own_never_do() {
    let board = board();
    board.apply(report(7, "here", PresenceStatus::Online, 1, 0));
    board.apply(report(8, "there", PresenceStatus::Online, 1, 0));
    board.apply(report(9, "alive", PresenceStatus::Online, 1, 0));
    board.heard_from("alive", at(50));
    assert!(board.expire(at(20)).is_empty(), "within the expiry nothing goes");
    let changes = board.expire(at(60));
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!((changes[0].shown.user_id, changes[0].after.is_none()), (8, true));
    assert_eq!(board.board(ACCOUNT).iter().map(|row| row.user_id).collect::<Vec<_>>(), [7, 9]);
    assert_eq!(board.own_reports(ACCOUNT).iter().map(|row| row.user_id).collect::<Vec<_>>(), [7]);
}

#[test]
fn viewers_are_the_agents_on_the_ticket_who_are_not_offline() {
    let board = board();
    let viewing = |user, status| AgentPresence { viewing: Some(42), ..report(user, "here", status, 1, 0) };
    board.apply(viewing(9, PresenceStatus::Online));
    board.apply(viewing(7, PresenceStatus::Away));
    board.apply(viewing(8, PresenceStatus::Offline));
    board.apply(report(6, "here", PresenceStatus::Online, 1, 0));
    let on_ticket: Vec<i64> = board.viewing(ACCOUNT, 42).iter().map(|row| row.user_id).collect();
    assert_eq!(on_ticket, [7, 9]);
    assert!(board.viewing(ACCOUNT, 43).is_empty());
}
