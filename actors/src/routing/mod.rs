//! Presence-aware routing (DESIGN §5, "presence board / router"), as pure code: a team's routing
//! settings and their validation, the order a team's queue is served in, who may take a ticket
//! and who does (round robin or least loaded, among online agents with room, matching skills and
//! language), with the explanation the `assigned` event records; when an offline assignee or a
//! silent one loses their tickets; and a ticket's language (`language.rs`). The router service
//! (`src/routing`) reads the store and the presence board, and sends the ticket actors what is
//! decided here.

pub mod explanation;
mod language;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::store::StoreResult;

pub use language::{is_language_code, ticket_language};

/// The most an offline grace may be: a day (longer is "keep").
pub const MAX_OFFLINE_GRACE_SECS: i64 = 86_400;
/// The most a no-reply limit may be: a week.
pub const MAX_NO_REPLY_MINUTES: i64 = 10_080;
/// Tag → skill entries a team may map.
pub const MAX_SKILL_TAGS: usize = 200;
/// The longest skill, tag or language name.
pub const MAX_NAME_CHARS: usize = 64;

/// What happens to an agent's tickets once their presence has been offline past the grace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfflinePolicy {
    /// They stay with the agent.
    #[default]
    Keep,
    /// They are unassigned (the team kept); the router then hands them out as capacity allows.
    ReturnToQueue,
    /// The router gives each to another online agent with room at once (or returns it to the
    /// queue when nobody has room).
    Reassign,
}

/// A team's routing settings (`GET`/`PUT /api/v1/teams/{id}/routing`). A team without any is
/// manual.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TeamRouting {
    pub mode: RoutingMode,
    /// Only agents holding fewer open tickets than their capacity are candidates.
    #[serde(default = "yes")]
    pub respect_capacity: bool,
    /// A ticket whose tags map to skills goes only to agents with all of them.
    #[serde(default)]
    pub match_skills: bool,
    /// A ticket whose language is known goes only to agents who write it.
    #[serde(default)]
    pub match_language: bool,
    #[serde(default)]
    pub offline_policy: OfflinePolicy,
    /// How long an agent's presence must have been offline before the policy applies.
    #[serde(default = "default_grace")]
    pub offline_grace_secs: i64,
    /// Reassign a ticket whose assignee has not replied this many minutes after getting it;
    /// `null` never does.
    #[serde(default)]
    pub reassign_if_no_reply_minutes: Option<i64>,
    /// Tag → skill: a ticket tagged `billing` requires the skill it maps to.
    #[serde(default)]
    pub skill_tags: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

fn default_grace() -> i64 {
    300
}

impl Default for TeamRouting {
    fn default() -> TeamRouting {
        TeamRouting {
            mode: RoutingMode::Manual,
            respect_capacity: true,
            match_skills: false,
            match_language: false,
            offline_policy: OfflinePolicy::Keep,
            offline_grace_secs: default_grace(),
            reassign_if_no_reply_minutes: None,
            skill_tags: BTreeMap::new(),
        }
    }
}

/// A routing setting out of range: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RoutingInvalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> RoutingInvalid {
    RoutingInvalid { field, message: message.into() }
}

/// A skill, tag or language as stored: trimmed, lower case, 1–64 characters.
pub fn normalise_name(field: &'static str, name: &str) -> Result<String, RoutingInvalid> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(field, format!("names are 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name)
}

impl TeamRouting {
    /// Checks the ranges and returns the settings with tag and skill names normalised.
    pub fn validated(mut self) -> Result<TeamRouting, RoutingInvalid> {
        if !(0..=MAX_OFFLINE_GRACE_SECS).contains(&self.offline_grace_secs) {
            return Err(invalid("offline_grace_secs", format!("must be 0 to {MAX_OFFLINE_GRACE_SECS}")));
        }
        if let Some(minutes) = self.reassign_if_no_reply_minutes
            && !(1..=MAX_NO_REPLY_MINUTES).contains(&minutes)
        {
            return Err(invalid(
                "reassign_if_no_reply_minutes",
                format!("must be 1 to {MAX_NO_REPLY_MINUTES}, or null"),
            ));
        }
        if self.skill_tags.len() > MAX_SKILL_TAGS {
            return Err(invalid("skill_tags", format!("at most {MAX_SKILL_TAGS} entries")));
        }
        let mut skill_tags = BTreeMap::new();
        for (tag, skill) in &self.skill_tags {
            skill_tags.insert(normalise_name("skill_tags", tag)?, normalise_name("skill_tags", skill)?);
        }
        self.skill_tags = skill_tags;
        Ok(self)
    }

    /// Whether the router hands out this team's tickets.
    pub fn is_routed(&self) -> bool {
        self.mode != RoutingMode::Manual
    }

    /// Whether the router must watch the tickets agents hold (offline policy, no-reply limit).
    pub fn watches_holders(&self) -> bool {
        self.is_routed() && (self.offline_policy != OfflinePolicy::Keep || self.reassign_if_no_reply_minutes.is_some())
    }

    /// The skills a ticket with these tags requires (none unless skills are matched).
    pub fn required_skills(&self, tags: &[String]) -> Vec<String> {
        if !self.match_skills {
            return Vec::new();
        }
        let mut skills: Vec<String> =
            tags.iter().filter_map(|tag| self.skill_tags.get(&tag.to_lowercase()).cloned()).collect();
        skills.sort();
        skills.dedup();
        skills
    }

    /// Whether an agent offline since `since` has been so past the grace at `now`.
    pub fn offline_past_grace(&self, since: Timestamp, now: Timestamp) -> bool {
        now.duration_since(since) >= SignedDuration::from_secs(self.offline_grace_secs)
    }

    /// Whether the ticket's assignee has been silent past the team's limit since getting it.
    pub fn no_reply_past_limit(&self, ticket: &Ticket, now: Timestamp) -> bool {
        let (Some(minutes), Some(assigned_at)) = (self.reassign_if_no_reply_minutes, ticket.assigned_at) else {
            return false;
        };
        let replied = ticket.last_agent_message_at.is_some_and(|at| at >= assigned_at);
        !replied
            && ticket.assignee_id.is_some()
            && now.duration_since(assigned_at) >= SignedDuration::from_mins(minutes)
    }
}

/// What the router reads and writes besides tickets.
#[async_trait]
pub trait RoutingPort: Send + Sync {
    /// The teams of the account that have routing settings.
    async fn team_routings(&self, account: AccountId) -> StoreResult<Vec<(TeamId, TeamRouting)>>;
    /// Saves a team's settings; `NotFound` when the team is not the account's.
    async fn set_team_routing(&self, account: AccountId, team: TeamId, routing: &TeamRouting) -> StoreResult<()>;
    /// Takes or renews the account's router lease until `until`: `true` when `node` holds it
    /// (it was free, expired at `now`, or already this node's).
    async fn claim_router_lease(
        &self,
        account: AccountId,
        node: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool>;
    /// Gives the lease up (a node shutting down), so a standby takes over at once.
    async fn release_router_lease(&self, account: AccountId, node: &str) -> StoreResult<()>;
    /// Unassigned tickets of these teams in status category new or open, oldest first.
    async fn routable_tickets(&self, account: AccountId, teams: &[TeamId], limit: i64) -> StoreResult<Vec<Ticket>>;
    /// Assigned tickets of these teams in status category new or open, oldest first.
    async fn held_tickets(&self, account: AccountId, teams: &[TeamId], limit: i64) -> StoreResult<Vec<Ticket>>;
    /// Each staff member's open load (tickets new, open or pending assigned to them).
    async fn open_loads(&self, account: AccountId) -> StoreResult<Vec<(UserId, i64)>>;
}

/// When a WhatsApp ticket's reply window closes: 24 hours after the customer last wrote.
pub fn window_closes_at(ticket: &Ticket) -> Option<Timestamp> {
    if ticket.reply_channel() != Channel::Whatsapp {
        return None;
    }
    ticket.last_customer_message_at.and_then(|at| at.checked_add(crate::whatsapp::window::WINDOW).ok())
}

/// The order freed capacity is filled in: SLA due soonest, then WhatsApp window closing
/// soonest, then longest waiting (tickets without a due time or window come after those with).
pub fn queue_order(a: &Ticket, b: &Ticket) -> Ordering {
    fn soonest(a: Option<Timestamp>, b: Option<Timestamp>) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    soonest(a.sla_due_at(), b.sla_due_at())
        .then_with(|| soonest(window_closes_at(a), window_closes_at(b)))
        .then_with(|| a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// A team member as the router sees them when it chooses.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub user_id: UserId,
    pub name: String,
    /// From the presence board (offline when the board has no row).
    pub presence: PresenceStatus,
    pub load: i64,
    pub capacity: i64,
    pub skills: Vec<String>,
    pub languages: Vec<String>,
}

/// What a ticket needs of its assignee.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketNeeds {
    pub skills: Vec<String>,
    pub language: Option<String>,
    /// Who may not take it (the assignee it is taken from).
    pub not: Option<UserId>,
}

/// The router's decision for one ticket: who (none when nobody may take it) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub assignee: Option<UserId>,
    pub explanation: AssignmentExplanation,
}

/// Why a member may not take the ticket now, if they may not.
fn exclusion(routing: &TeamRouting, needs: &TicketNeeds, member: &Member) -> Option<&'static str> {
    if needs.not == Some(member.user_id) {
        return Some("current_assignee");
    }
    match member.presence {
        PresenceStatus::Online => {}
        PresenceStatus::Away => return Some("away"),
        PresenceStatus::Busy => return Some("busy"),
        PresenceStatus::Offline => return Some("offline"),
    }
    if routing.respect_capacity && member.load >= member.capacity {
        return Some("full");
    }
    if !needs.skills.iter().all(|skill| member.skills.contains(skill)) {
        return Some("missing_skill");
    }
    if routing.match_language
        && let Some(language) = &needs.language
        && !member.languages.contains(language)
    {
        return Some("language");
    }
    None
}

/// Chooses the assignee of one ticket among the team's members. `last_in_turn` is the member
/// the team's round robin gave the previous ticket to.
pub fn choose(
    routing: &TeamRouting,
    needs: &TicketNeeds,
    members: &[Member],
    last_in_turn: Option<UserId>,
    trigger: &str,
) -> Choice {
    let mut excluded: BTreeMap<String, usize> = BTreeMap::new();
    let mut eligible: Vec<&Member> = Vec::new();
    for member in members {
        match exclusion(routing, needs, member) {
            Some(reason) => *excluded.entry(reason.to_owned()).or_default() += 1,
            None => eligible.push(member),
        }
    }
    match routing.mode {
        RoutingMode::LeastLoaded => eligible.sort_by_key(|member| (member.load, member.user_id)),
        // In turn: the members after the last one served, then from the start.
        RoutingMode::RoundRobin | RoutingMode::Manual => {
            eligible.sort_by_key(|member| (last_in_turn.is_some_and(|last| member.user_id <= last), member.user_id))
        }
    }
    let chosen = eligible.first().copied();
    let name_of = |id: UserId| members.iter().find(|member| member.user_id == id).map(|member| member.name.clone());
    let why = match (chosen, routing.mode) {
        (None, _) => {
            let mut why = "no online agent with room".to_owned();
            if !needs.skills.is_empty() {
                why.push_str(&format!(" and the skills {}", needs.skills.join(", ")));
            }
            if routing.match_language
                && let Some(language) = &needs.language
            {
                why.push_str(&format!(" who writes {}", language::language_name(language)));
            }
            why.push_str(": left in the queue");
            why
        }
        (Some(member), RoutingMode::LeastLoaded) => format!(
            "least loaded: {} held {} of {} open tickets, the fewest of {} candidate{}",
            member.name,
            member.load,
            member.capacity,
            eligible.len(),
            if eligible.len() == 1 { "" } else { "s" }
        ),
        (Some(member), _) => match last_in_turn.and_then(name_of) {
            Some(previous) => format!("round robin: {} was next in turn after {previous}", member.name),
            None => format!("round robin: {} was first in turn", member.name),
        },
    };
    let explanation = AssignmentExplanation {
        mode: routing.mode,
        trigger: trigger.to_owned(),
        why,
        language: needs.language.clone().filter(|_| routing.match_language),
        skills: needs.skills.clone(),
        candidates: eligible
            .iter()
            .take(AssignmentExplanation::SHOWN)
            .map(|member| CandidateLoad {
                user_id: member.user_id,
                name: member.name.clone(),
                load: member.load,
                capacity: member.capacity,
            })
            .collect(),
        eligible: eligible.len(),
        excluded,
    };
    Choice { assignee: chosen.map(|member| member.user_id), explanation }
}
