//! The live board (issue 15 item 3): the queue as it is now, per team the user sees (open,
//! unassigned, waiting for an agent, at SLA risk, breached), the agents' presence from the
//! cluster's presence board, and today's volumes from the reports' projection. Read by
//! `GET /api/v1/reports/live` and pushed on the WebSocket topic `dashboard` (live delivery asks
//! [`LiveBoards`] through its `DashboardSource` port). An admin sees every team (and the tickets of
//! none), a supervisor or an agent their own teams.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::{PresenceStatus, Role, StatusCategory, TeamId, User};
use switchboard_actors::query::filter::{Condition, Test, TicketFilter};
use switchboard_actors::query::{SlaCondition, WaitingOn};
use switchboard_actors::reports::summary::{Figures, Hours, figures};
use switchboard_actors::reports::{MeasureQuery, MeasureScope};
use switchboard_actors::store::{Store, StoreError, TicketQuery};
use utoipa::ToSchema;

use super::report_zone;
use crate::presence::PresenceBoard;

/// One team's queue now (`team_id` null: tickets of no team).
#[derive(Serialize, ToSchema)]
pub struct TeamQueue {
    team_id: Option<TeamId>,
    /// New, open or pending.
    open: i64,
    /// Open and assigned to nobody.
    unassigned: i64,
    /// Open and waiting for the team (the customer wrote last).
    waiting_for_agent: i64,
    /// Open with an SLA clock past its warning threshold, not yet due.
    at_sla_risk: i64,
    /// Open with an SLA clock past due.
    breached: i64,
    /// The team's members by presence (an agent in two teams counts in both).
    agents: AgentCounts,
}

#[derive(Default, Serialize, ToSchema)]
pub struct AgentCounts {
    online: i64,
    away: i64,
    busy: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LiveBoard {
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub teams: Vec<TeamQueue>,
    /// Every agent the caller may see, by presence.
    pub agents: AgentCounts,
    /// Today's figures so far (today in the account's report zone), in calendar time; the
    /// backlog is the open tickets of `teams` now.
    pub today: Figures,
    /// The event log position today's figures include everything up to.
    pub as_of_position: i64,
}

/// Whose figures `user` may add up: an admin the account's, a supervisor their teams', an agent
/// their teams' and their own.
pub fn scope_of(user: &User) -> MeasureScope {
    match user.role {
        Role::Admin => MeasureScope::Account,
        Role::Supervisor => MeasureScope::Teams { teams: user.team_ids.clone(), person: None },
        _ => MeasureScope::Teams { teams: user.team_ids.clone(), person: Some(user.id) },
    }
}

fn condition(test: Test) -> Condition {
    Condition { negated: false, test }
}

/// Open tickets of `team`, with `more` conditions.
fn open_of(team: Option<TeamId>, more: Option<Test>) -> TicketFilter {
    let mut conditions = vec![
        condition(Test::Status {
            keys: Vec::new(),
            categories: vec![StatusCategory::New, StatusCategory::Open, StatusCategory::Pending],
        }),
        condition(Test::Team(vec![team])),
    ];
    conditions.extend(more.map(condition));
    TicketFilter { conditions, ..TicketFilter::default() }
}

fn count_presence(counts: &mut AgentCounts, status: PresenceStatus) {
    match status {
        PresenceStatus::Online => counts.online += 1,
        PresenceStatus::Away => counts.away += 1,
        PresenceStatus::Busy => counts.busy += 1,
        PresenceStatus::Offline => {}
    }
}

/// The teams whose queues `caller` sees: an admin's are every team and none.
async fn visible_teams(store: &dyn Store, caller: &User) -> Result<Vec<Option<TeamId>>, StoreError> {
    if caller.role == Role::Admin {
        let mut teams: Vec<Option<TeamId>> =
            store.list_teams(caller.account_id).await?.into_iter().map(|team| Some(team.id)).collect();
        teams.push(None);
        Ok(teams)
    } else {
        Ok(caller.team_ids.iter().copied().map(Some).collect())
    }
}

/// The board `user` sees at `now`.
pub async fn live_board(
    store: &dyn Store,
    presence: &PresenceBoard,
    user: &User,
    now: Timestamp,
) -> Result<LiveBoard, StoreError> {
    let account = user.account_id;
    let board = presence.board(account);
    let people = store.list_users(account, None).await?;
    let mut teams = Vec::new();
    for team in visible_teams(store, user).await? {
        let count = |more: Option<Test>| {
            let query = TicketQuery { filter: open_of(team, more), ..TicketQuery::new(account) };
            async move { store.count_tickets(&query).await }
        };
        let mut agents = AgentCounts::default();
        for row in &board {
            let member = people
                .iter()
                .any(|person| person.id == row.user_id && team.is_some_and(|team| person.team_ids.contains(&team)));
            if member {
                count_presence(&mut agents, row.status);
            }
        }
        teams.push(TeamQueue {
            team_id: team,
            open: count(None).await?,
            unassigned: count(Some(Test::Assignee(vec![None]))).await?,
            waiting_for_agent: count(Some(Test::Waiting(vec![WaitingOn::Agent]))).await?,
            at_sla_risk: count(Some(Test::Sla { conditions: vec![SlaCondition::AtRisk], now })).await?,
            breached: count(Some(Test::Sla { conditions: vec![SlaCondition::Breached], now })).await?,
            agents,
        });
    }
    let mut agents = AgentCounts::default();
    for row in &board {
        let seen = user.role == Role::Admin
            || row.user_id == user.id
            || people.iter().any(|person| {
                person.id == row.user_id && person.team_ids.iter().any(|team| user.team_ids.contains(team))
            });
        if seen {
            count_presence(&mut agents, row.status);
        }
    }
    let config = store.account_config(account).await?;
    let zone = report_zone(config.sla_policy.as_ref().and_then(|policy| policy.business_hours.as_ref()));
    let midnight =
        now.to_zoned(zone.clone()).start_of_day().map_err(|error| StoreError::Internal(error.to_string()))?;
    let as_of_position = store.report_position().await?;
    let scope = scope_of(user);
    let to = now.checked_add(jiff::SignedDuration::from_millis(1)).unwrap_or(now);
    let today = store.measures(&MeasureQuery::new(account, midnight.timestamp(), to, None, scope)).await?;
    let mut today = figures(&today, Hours::Calendar);
    // The backlog now is the open tickets of the queues shown (the same definition, read live).
    today.backlog = teams.iter().map(|team| team.open).sum();
    today.unassigned_backlog = teams.iter().map(|team| team.unassigned).sum();
    Ok(LiveBoard { at: now, teams, agents, today, as_of_position })
}

/// The boards live delivery pushes on the `dashboard` topic.
pub struct LiveBoards {
    pub store: Arc<dyn Store>,
    pub presence: Arc<PresenceBoard>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl crate::live::DashboardSource for LiveBoards {
    async fn board(&self, user: &User) -> Option<serde_json::Value> {
        let board = live_board(self.store.as_ref(), &self.presence, user, self.clock.now()).await;
        match board.map(serde_json::to_value) {
            Ok(Ok(board)) => Some(board),
            Ok(Err(error)) => {
                tracing::warn!(%error, "the live board did not encode");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "the live board could not be read");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use switchboard_actors::reports::summary::Durations;

    use super::*;
    use crate::live::protocol::{ControlFrame, Frame};

    /// The `dashboard` frame as a socket receives it: `GET /reports/live`'s body under `board`.
    #[test]
    fn dashboard_frame() {
        let board = LiveBoard {
            at: "2026-12-04T09:30:00Z".parse().expect("time"),
            teams: vec![TeamQueue {
                team_id: Some(3),
                open: 12,
                unassigned: 2,
                waiting_for_agent: 5,
                at_sla_risk: 1,
                breached: 1,
                agents: AgentCounts { online: 2, away: 1, busy: 0 },
            }],
            agents: AgentCounts { online: 4, away: 1, busy: 1 },
            today: Figures {
                tickets_created: 9,
                tickets_resolved: 4,
                first_response: Durations::of(vec![90_000, 45_000]),
                ..Figures::default()
            },
            as_of_position: 1234,
        };
        let board = serde_json::to_value(board).expect("a board encodes");
        let frame = Frame::control(&ControlFrame::Dashboard { topic: "dashboard", board: &board });
        let frame: serde_json::Value = serde_json::from_str(&frame.text).expect("frames are JSON");
        insta::assert_json_snapshot!("dashboard_frame", frame);
    }
}
