//! The live board (`GET /reports/live`, issue 15 item 3): the queue as it is now, per team (open,
//! unassigned, waiting for an agent, at SLA risk, breached), the agents' presence from the
//! cluster's presence board, and today's volumes from the reports' projection. Staff only; an
//! admin sees every team (and the tickets of none), a supervisor or an agent their own teams.

use actix_web::{get, web};
use jiff::Timestamp;
use serde::Serialize;
use switchboard_actors::domain::{PresenceStatus, Role, StatusCategory, TeamId, User};
use switchboard_actors::query::filter::{Condition, Test, TicketFilter};
use switchboard_actors::query::{SlaCondition, WaitingOn};
use switchboard_actors::reports::MeasureQuery;
use switchboard_actors::reports::summary::{Figures, Hours, figures};
use switchboard_actors::store::TicketQuery;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Api, ApiError, Caller, NoParams};
use crate::error::ErrorBody;
use crate::presence::PresenceBoard;
use crate::reports::{ReportProjection, report_zone};

pub fn routes(config: &mut ServiceConfig) {
    config.service(live);
}

/// One team's queue now (`team_id` null: tickets of no team).
#[derive(Serialize, ToSchema)]
struct TeamQueue {
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
struct AgentCounts {
    online: i64,
    away: i64,
    busy: i64,
}

#[derive(Serialize, ToSchema)]
struct LiveBoard {
    #[schema(value_type = String)]
    at: Timestamp,
    teams: Vec<TeamQueue>,
    /// Every agent the caller may see, by presence.
    agents: AgentCounts,
    /// Today's figures so far (today in the account's report zone), in calendar time.
    today: Figures,
    /// The event log position today's figures include everything up to.
    as_of_position: i64,
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
async fn visible_teams(state: &Api, caller: &User) -> Result<Vec<Option<TeamId>>, ApiError> {
    if caller.role == Role::Admin {
        let mut teams: Vec<Option<TeamId>> =
            state.store.list_teams(caller.account_id).await?.into_iter().map(|team| Some(team.id)).collect();
        teams.push(None);
        Ok(teams)
    } else {
        Ok(caller.team_ids.iter().copied().map(Some).collect())
    }
}

/// The queue now, per team the caller sees, the agents' presence and today's volumes.
#[utoipa::path(
    tag = "reports",
    responses((status = 200, body = LiveBoard), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/reports/live")]
async fn live(
    state: Api,
    caller: Caller,
    presence: web::Data<PresenceBoard>,
    projection: web::Data<ReportProjection>,
    _: web::Query<NoParams>,
) -> Result<web::Json<LiveBoard>, ApiError> {
    caller.require_staff()?;
    let now = state.now();
    let account = caller.account();
    let board = presence.board(account);
    let people = state.store.list_users(account, None).await?;
    let mut teams = Vec::new();
    for team in visible_teams(&state, &caller.user).await? {
        let count = |more: Option<Test>| {
            let query = TicketQuery { filter: open_of(team, more), ..TicketQuery::new(account) };
            let store = state.store.clone();
            async move { store.count_tickets(&query).await }
        };
        let mut agents = AgentCounts::default();
        for row in &board {
            let member = people
                .iter()
                .any(|user| user.id == row.user_id && team.is_some_and(|team| user.team_ids.contains(&team)));
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
        let seen = caller.user.role == Role::Admin
            || row.user_id == caller.user.id
            || people.iter().any(|user| {
                user.id == row.user_id && user.team_ids.iter().any(|team| caller.user.team_ids.contains(team))
            });
        if seen {
            count_presence(&mut agents, row.status);
        }
    }
    let config = state.account_config(account).await?;
    let zone = report_zone(config.sla_policy.as_ref().and_then(|policy| policy.business_hours.as_ref()));
    let midnight = now.to_zoned(zone.clone()).start_of_day().map_err(|error| ApiError::Internal(error.to_string()))?;
    let (as_of_position, _) = projection.fresh().await?;
    let scope = super::reports::scope_of(&caller.user);
    let to = now.checked_add(jiff::SignedDuration::from_millis(1)).unwrap_or(now);
    let today =
        state.store.measures(&MeasureQuery { account, from: midnight.timestamp(), to, filter: None, scope }).await?;
    Ok(web::Json(LiveBoard { at: now, teams, agents, today: figures(&today, Hours::Calendar), as_of_position }))
}
