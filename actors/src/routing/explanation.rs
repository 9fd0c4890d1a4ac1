//! What the router records about an assignment (in the `assigned` event) and the routing modes:
//! part of the domain's vocabulary (re-exported by `domain`), kept beside the routing rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::UserId;

/// How a team's new and returned tickets find an assignee.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoutingMode {
    /// People assign; the router leaves the team alone.
    #[default]
    Manual,
    /// Online agents with room take turns.
    RoundRobin,
    /// The online agent with room holding the fewest open tickets.
    LeastLoaded,
}

/// Why the router made an assignment: what the ticket needed, who was considered with their
/// load, who was left out and why, and the rule that picked the one chosen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignmentExplanation {
    pub mode: RoutingMode,
    /// What set the router off: `new`, `returned`, `assignee_offline`, `no_reply`.
    pub trigger: String,
    /// The sentence shown in the ticket's assignment history.
    pub why: String,
    /// The ticket's language (ISO 639-3), when it was matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The skills the ticket's tags require, when they were matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// The agents who could take it, best first (at most [`AssignmentExplanation::SHOWN`]).
    pub candidates: Vec<CandidateLoad>,
    /// How many agents could take it.
    pub eligible: usize,
    /// Team members left out, counted by reason (`away`, `busy`, `offline`, `full`,
    /// `missing_skill`, `language`, `current_assignee`).
    #[serde(default)]
    pub excluded: BTreeMap<String, usize>,
}

impl AssignmentExplanation {
    /// Candidates listed in an explanation: enough to see the choice, small enough for every
    /// assignment of a 500-agent team.
    pub const SHOWN: usize = 10;
}

/// An agent the router considered, with their load when it chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CandidateLoad {
    pub user_id: UserId,
    pub name: String,
    pub load: i64,
    pub capacity: i64,
}
