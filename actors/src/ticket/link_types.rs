//! The links merges and splits leave on tickets (`Ticket::links`): plain data, re-exported by
//! [`domain`](crate::domain).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::TicketId;

/// Another ticket, as a link names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkedTicket {
    pub ticket_id: TicketId,
    /// Its per-account number (`#1042`).
    pub number: i64,
}

/// Where a merged ticket went, and what undoing the merge restores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeLink {
    pub ticket_id: TicketId,
    pub number: i64,
    pub at: Timestamp,
    /// The status the ticket had before the merge closed it; an unmerge sets it again.
    pub previous_status: String,
}

/// A ticket merged into this one, with what it brought (what an unmerge takes back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergedSource {
    pub ticket_id: TicketId,
    pub number: i64,
    pub at: Timestamp,
    /// Its messages, now shown in this thread.
    pub message_ids: Vec<String>,
    /// Its tags that this ticket did not have.
    pub tags_added: Vec<String>,
}

/// A ticket's links to others made by merges and splits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketLinks {
    /// Set while this ticket is merged into another (it stays closed meanwhile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<MergeLink>,
    /// The tickets merged into this one and not unmerged since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<MergedSource>,
    /// The ticket this one was split from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_from: Option<LinkedTicket>,
    /// The tickets split from this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_to: Vec<LinkedTicket>,
}

impl TicketLinks {
    pub fn is_empty(&self) -> bool {
        *self == TicketLinks::default()
    }
}
