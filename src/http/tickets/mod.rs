//! Tickets: list, create, read, change, reply, assign, bulk, merge and split, and the event log.
//!
//! Reads come from the store; every change goes through the ticket's actor. Customers see and act
//! on their own tickets only (or their company's when the company allows it), never see internal
//! notes, and cannot change a ticket's properties.

use std::sync::Arc;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use base64::Engine as _;
use garde::Validate;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use switchboard_actors::domain::*;
use switchboard_actors::store::*;
use switchboard_actors::ticket::{Assignment, CommandContext, NewMessage, TicketCommand, TicketDraft, TicketPatch};
use switchboard_actors::visibility::TicketView;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::{Api, ApiError, Caller};
use crate::error::ErrorBody;

mod change;
mod create;
mod csat;
mod drafts;
mod links;
mod messages;
mod read;
mod search;

use change::*;
use create::*;
use csat::*;
use drafts::*;
use links::*;
use messages::*;
use read::*;
use search::*;

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(list_tickets)
        .service(sla_risk)
        .service(bulk_update)
        .service(create_ticket)
        .service(get_ticket)
        .service(update_ticket)
        .service(add_message)
        .service(assign_ticket)
        .service(merge_ticket)
        .service(unmerge_ticket)
        .service(split_ticket)
        .service(ticket_events)
        .service(get_draft)
        .service(put_draft)
        .service(delete_draft)
        .service(get_ticket_csat)
        .service(answer_ticket_csat);
}

/// Most tickets one bulk request may change.
const MAX_BULK: usize = 100;
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
/// Events one page of `/events` returns at most.
const MAX_EVENT_PAGE: i64 = 1000;

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(super) fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next: Option<String>,
}

fn split_list<T: std::str::FromStr>(field: &str, value: &Option<String>) -> Result<Vec<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    value
        .iter()
        .flat_map(|text| text.split(','))
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<T>().map_err(|error| ApiError::invalid(field, error.to_string())))
        .collect()
}

fn encode_cursor(value: i64, id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{value}:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, i64), ApiError> {
    let bad = || ApiError::invalid("cursor", "not a cursor returned by this API");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (value, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((value.parse().map_err(|_| bad())?, id.parse().map_err(|_| bad())?))
}

pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        _ => Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

/// What the caller may see: staff their whole account, customers their own tickets.
async fn scope_of(state: &Api, caller: &Caller) -> Result<TicketScope, ApiError> {
    if caller.user.role.is_staff() {
        return Ok(TicketScope::Account);
    }
    state.sessions.customer_scope(&caller.user).await
}

/// A customer writing on a colleague's ticket (which they may read when their company shares
/// tickets): only when the company lets members write on each other's tickets too.
async fn company_may_write(state: &Api, caller: &Caller) -> Result<(), ApiError> {
    let company = match caller.user.company_id {
        Some(id) => state.store.company(caller.account(), id).await?,
        None => None,
    };
    if company.is_some_and(|company| company.members_write_company_tickets) {
        Ok(())
    } else {
        Err(ApiError::forbidden("you can read your colleagues' tickets but write only on your own"))
    }
}

/// Loads a ticket the caller may see; anything else (missing, other account, not theirs) is 404,
/// so ids of other people's tickets are not revealed.
async fn visible_ticket(state: &Api, caller: &Caller, id: TicketId) -> Result<Ticket, ApiError> {
    let ticket = state.store.ticket(id).await?.filter(|ticket| ticket.account_id == caller.account());
    let scope = scope_of(state, caller).await?;
    ticket.filter(|ticket| scope.allows(ticket)).ok_or(ApiError::NotFound("ticket"))
}

async fn staff_member(state: &Api, account: AccountId, id: UserId) -> Result<User, ApiError> {
    state
        .store
        .user(account, id)
        .await?
        .filter(|user| user.role.is_staff() && user.active)
        .ok_or_else(|| ApiError::invalid("assignee_id", "no such active agent"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOutcome {
    pub ticket: TicketView,
    /// The events this request appended, in seq order, as the caller may see them (empty when
    /// nothing changed; customers get what is not theirs to see as `private`).
    #[schema(value_type = Vec<TicketEvent>)]
    pub events: Vec<serde_json::Value>,
}

impl ChangeOutcome {
    async fn for_caller(
        state: &Api,
        caller: &Caller,
        outcome: switchboard_actors::ticket::CommandOutcome,
    ) -> Result<Self, ApiError> {
        let audience = Audience::of(state, caller).await?;
        let events = outcome.events.iter().map(|event| audience.event(event)).collect();
        Ok(ChangeOutcome { ticket: audience.ticket(outcome.ticket), events })
    }
}

/// Who reads a response, and the account settings that cut it for customers (`visibility.rs`
/// decides what they see).
pub struct Audience {
    staff: bool,
    config: Arc<AccountConfig>,
}

impl Audience {
    pub async fn of(state: &Api, caller: &Caller) -> Result<Audience, ApiError> {
        let staff = caller.user.role.is_staff();
        let config = if staff { Arc::default() } else { state.account_config(caller.account()).await? };
        Ok(Audience { staff, config })
    }

    /// Staff read everything (no account settings needed to cut it).
    pub fn staff() -> Audience {
        Audience { staff: true, config: Arc::default() }
    }

    pub fn ticket(&self, ticket: Ticket) -> TicketView {
        TicketView::new(self.staff, ticket, &self.config)
    }

    pub fn event(&self, event: &TicketEvent) -> serde_json::Value {
        switchboard_actors::visibility::event_view(self.staff, event, &self.config)
    }

    /// The thread as the caller may read it: customers get no internal notes and no staff ids.
    pub fn messages(&self, messages: Vec<Message>) -> Vec<Message> {
        if self.staff {
            return messages;
        }
        use switchboard_actors::visibility::{customer_may_read, customer_message};
        messages.into_iter().filter(customer_may_read).map(customer_message).collect()
    }
}

/// Collision control: what the sender has seen of the ticket. The request's `seen_seq` wins;
/// otherwise what this node pushed to the sender's sockets; `force` skips the check.
struct Seen {
    seen_seq: Option<i64>,
    force: bool,
}

impl Seen {
    fn resolve(&self, state: &Api, caller: &Caller, ticket: TicketId) -> Option<i64> {
        if self.force || !caller.user.role.is_staff() {
            return None;
        }
        self.seen_seq.or_else(|| state.live.last_seen(caller.user.id, ticket))
    }
}

async fn context(
    state: &Api,
    caller: &Caller,
    expected_seq: Option<i64>,
    seen_seq: Option<i64>,
) -> Result<CommandContext, ApiError> {
    Ok(CommandContext {
        actor_id: Some(caller.user.id),
        config: state.account_config(caller.account()).await?,
        expected_seq,
        seen_seq,
    })
}
