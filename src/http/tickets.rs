//! Tickets: list, create, read, change, reply, assign, bulk, and the event log.
//!
//! Reads come from the store; every change goes through the ticket's actor. Customers see and act
//! on their own tickets only (or their company's when the company allows it), never see internal
//! notes, and cannot change a ticket's properties.

use std::sync::Arc;

use actix_web::{HttpResponse, get, patch, post, web};
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

use super::error::ErrorBody;
use super::json::ApiJson;
use super::{ApiError, AppState, Caller};

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
        .service(ticket_events);
}

/// Most tickets one bulk request may change.
const MAX_BULK: usize = 100;
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
/// Events one page of `/events` returns at most.
const MAX_EVENT_PAGE: i64 = 1000;

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Comma-separated status keys, e.g. `open,pending`.
    status: Option<String>,
    /// Comma-separated status categories (`new,open,pending,resolved,closed`).
    category: Option<String>,
    /// Comma-separated priorities.
    priority: Option<String>,
    /// A user id, `me`, or `none` for unassigned.
    assignee: Option<String>,
    team: Option<i64>,
    tag: Option<String>,
    requester: Option<i64>,
    channel: Option<String>,
    /// Words that must all appear in the subject or a message.
    q: Option<String>,
    /// `-updated_at` (default), `updated_at`, `-created_at`, `created_at`, `-priority`, or
    /// `sla_due` (soonest SLA due time first; tickets without a running SLA clock last).
    sort: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
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
async fn scope_of(state: &AppState, caller: &Caller) -> Result<TicketScope, ApiError> {
    if caller.user.role.is_staff() {
        return Ok(TicketScope::Account);
    }
    super::customer_scope(state, &caller.user).await
}

/// A customer writing on a colleague's ticket (which they may read when their company shares
/// tickets): only when the company lets members write on each other's tickets too.
async fn company_may_write(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
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
async fn visible_ticket(state: &AppState, caller: &Caller, id: TicketId) -> Result<Ticket, ApiError> {
    let ticket = state.store.ticket(id).await?.filter(|ticket| ticket.account_id == caller.account());
    let scope = scope_of(state, caller).await?;
    ticket.filter(|ticket| scope.allows(ticket)).ok_or(ApiError::NotFound("ticket"))
}

/// List tickets the caller may see, filtered, sorted and paged.
#[utoipa::path(
    tag = "tickets",
    params(ListParams),
    responses((status = 200, body = Page<TicketView>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[get("/tickets")]
async fn list_tickets(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<web::Json<Page<TicketView>>, ApiError> {
    let params = params.into_inner();
    let mut query = TicketQuery::new(caller.account());
    query.scope = scope_of(&state, &caller).await?;
    query.statuses = split_list("status", &params.status)?;
    query.categories = split_list("category", &params.category)?;
    query.priorities = split_list("priority", &params.priority)?;
    query.assignee = match params.assignee.as_deref() {
        None | Some("") => None,
        Some("me") => Some(AssigneeFilter::User(caller.user.id)),
        Some("none") => Some(AssigneeFilter::Unassigned),
        Some(id) => Some(AssigneeFilter::User(
            id.parse().map_err(|_| ApiError::invalid("assignee", "must be a user id, `me` or `none`"))?,
        )),
    };
    query.team_id = params.team;
    query.tag = params.tag.filter(|tag| !tag.trim().is_empty());
    query.requester_id = params.requester;
    query.channel = split_list::<Channel>("channel", &params.channel)?.into_iter().next();
    query.text = params.q.filter(|q| !q.trim().is_empty());
    query.sort = match params.sort.as_deref().unwrap_or("-updated_at") {
        "-updated_at" => TicketSort::UpdatedDesc,
        "updated_at" => TicketSort::UpdatedAsc,
        "-created_at" => TicketSort::CreatedDesc,
        "created_at" => TicketSort::CreatedAsc,
        "-priority" => TicketSort::PriorityDesc,
        "sla_due" => TicketSort::SlaDueAsc,
        other => {
            return Err(ApiError::invalid(
                "sort",
                format!(
                    "unknown sort `{other}`; use -updated_at, updated_at, -created_at, created_at, -priority or sla_due"
                ),
            ));
        }
    };
    query.after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    query.limit = page_limit(params.limit)? + 1;
    let mut items = state.store.list_tickets(&query).await?;
    let next = if items.len() as i64 >= query.limit {
        items.truncate((query.limit - 1) as usize);
        items.last().map(|last| encode_cursor(query.sort.key(last), last.id))
    } else {
        None
    };
    let audience = Audience::of(&state, &caller).await?;
    let items = items.into_iter().map(|ticket| audience.ticket(ticket)).collect();
    Ok(web::Json(Page { items, next }))
}

/// Per agent, how many of their open tickets have breached their SLA or passed its warning
/// threshold (staff): the presence board's "SLA risk".
#[utoipa::path(tag = "tickets", responses((status = 200, body = Page<SlaRisk>), (status = 403, body = ErrorBody)))]
#[get("/sla/risk")]
async fn sla_risk(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Page<SlaRisk>>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(Page { items: state.store.sla_risk(caller.account(), state.now()).await?, next: None }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    #[garde(length(min = 1, max = 500))]
    pub subject: String,
    /// The first message: the customer's description of the problem.
    #[garde(length(max = 65536))]
    pub body: Option<String>,
    /// Staff only: the customer the ticket is for (or give `requester_email`).
    #[garde(skip)]
    pub requester_id: Option<UserId>,
    /// Staff only: found or created as a customer.
    #[garde(inner(email))]
    pub requester_email: Option<String>,
    #[garde(inner(length(min = 1, max = 200)))]
    pub requester_name: Option<String>,
    #[garde(skip)]
    pub channel: Option<Channel>,
    #[garde(skip)]
    pub status: Option<String>,
    #[garde(skip)]
    pub urgency: Option<Level>,
    #[garde(skip)]
    pub importance: Option<Level>,
    #[garde(skip)]
    pub ticket_type: Option<String>,
    #[garde(skip)]
    pub category_id: Option<CategoryId>,
    #[garde(length(max = 50))]
    #[serde(default)]
    pub tags: Vec<String>,
    #[garde(skip)]
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: CustomFields,
    #[garde(skip)]
    pub assignee_id: Option<UserId>,
    #[garde(skip)]
    pub team_id: Option<TeamId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketWithMessages {
    #[serde(flatten)]
    pub ticket: TicketView,
    pub messages: Vec<Message>,
    /// WhatsApp tickets: whether free-form replies can reach the customer now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowState>,
    /// Staff: the channels a reply can reach the customer on (`whatsapp` needs a WhatsApp
    /// conversation, `email` an address), in that order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_channels: Vec<Channel>,
}

/// Open a ticket. Customers open their own; staff open one for a customer.
#[utoipa::path(
    tag = "tickets",
    request_body = CreateTicket,
    responses(
        (status = 201, body = TicketWithMessages),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[post("/tickets")]
async fn create_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<CreateTicket>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let account = caller.account();
    let staff = caller.user.role.is_staff();
    if !staff {
        let privileged = [
            ("requester_id", body.requester_id.is_some()),
            ("requester_email", body.requester_email.is_some()),
            ("status", body.status.is_some()),
            ("assignee_id", body.assignee_id.is_some()),
            ("team_id", body.team_id.is_some()),
            ("tags", !body.tags.is_empty()),
            ("custom_fields", !body.custom_fields.is_empty()),
            // Triage is the team's: customers describe, staff rate.
            ("urgency", body.urgency.is_some()),
            ("importance", body.importance.is_some()),
            ("ticket_type", body.ticket_type.is_some()),
            ("category_id", body.category_id.is_some()),
        ];
        if let Some((field, _)) = privileged.iter().find(|(_, set)| *set) {
            return Err(ApiError::forbidden(format!("customers cannot set `{field}`")));
        }
    }
    let requester = if staff { resolve_requester(&state, account, &body).await? } else { caller.user.clone() };
    if let Some(assignee) = body.assignee_id {
        staff_member(&state, account, assignee).await?;
    }
    if let Some(team) = body.team_id {
        state.store.team(account, team).await?.ok_or_else(|| ApiError::invalid("team_id", "no such team"))?;
    }
    let config = state.account_config(account).await?;
    let draft = TicketDraft {
        account_id: account,
        subject: body.subject,
        body: body.body,
        body_kind: MessageKind::Customer,
        status: body.status,
        urgency: body.urgency.unwrap_or(Level::Medium),
        importance: body.importance.unwrap_or(Level::Medium),
        ticket_type: body.ticket_type,
        category_id: body.category_id,
        tags: body.tags,
        custom_fields: body.custom_fields,
        channel: body.channel.unwrap_or(if staff { Channel::Api } else { Channel::Web }),
        requester_id: requester.id,
        company_id: requester.company_id,
        assignee_id: body.assignee_id,
        team_id: body.team_id,
        created_by: Some(caller.user.id),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
        window: None,
    };
    let outcome = state.tickets.create(draft, &config).await?;
    metrics::counter!("switchboard_tickets_created_total").increment(1);
    let messages = switchboard_actors::ticket::messages_of(&outcome.events);
    Ok(HttpResponse::Created().json(TicketWithMessages {
        ticket: Audience::of(&state, &caller).await?.ticket(outcome.ticket),
        messages,
        window: None,
        reply_channels: Vec::new(),
    }))
}

async fn resolve_requester(state: &AppState, account: AccountId, body: &CreateTicket) -> Result<User, ApiError> {
    match (&body.requester_id, &body.requester_email) {
        (Some(id), _) => state
            .store
            .user(account, *id)
            .await?
            .filter(|user| user.role == Role::Customer)
            .ok_or_else(|| ApiError::invalid("requester_id", "no such customer")),
        (None, Some(email)) => {
            if let Some(existing) = state.store.user_credentials(email).await? {
                if existing.user.account_id != account || existing.user.role != Role::Customer {
                    return Err(ApiError::invalid(
                        "requester_email",
                        "this email belongs to a user who is not a customer here",
                    ));
                }
                return Ok(existing.user);
            }
            let name =
                body.requester_name.clone().unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
            Ok(state.store.create_user(NewUser::customer(account, email.clone(), name, None)).await?)
        }
        (None, None) => {
            Err(ApiError::invalid("requester_id", "staff must name the customer: requester_id or requester_email"))
        }
    }
}

async fn staff_member(state: &AppState, account: AccountId, id: UserId) -> Result<User, ApiError> {
    state
        .store
        .user(account, id)
        .await?
        .filter(|user| user.role.is_staff() && user.active)
        .ok_or_else(|| ApiError::invalid("assignee_id", "no such active agent"))
}

/// A ticket with its messages (customers do not see internal notes).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    responses((status = 200, body = TicketWithMessages), (status = 404, body = ErrorBody))
)]
#[get("/tickets/{id}")]
async fn get_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TicketId>,
) -> Result<web::Json<TicketWithMessages>, ApiError> {
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let mut messages = state.store.ticket_messages(ticket.id).await?;
    if !caller.user.role.is_staff() {
        messages.retain(switchboard_actors::visibility::customer_may_read);
    } else if ticket.channel == Channel::Whatsapp
        && let Some(channel) = &state.whatsapp
    {
        channel.agent_opened(&ticket, &messages);
    }
    let reply_channels = if caller.user.role.is_staff() { reply_channels(&state, &ticket).await? } else { Vec::new() };
    let window = match &state.whatsapp {
        Some(channel) if ticket.channel == Channel::Whatsapp || reply_channels.contains(&Channel::Whatsapp) => {
            let expires =
                state.store.conversation_of_customer(ticket.requester_id).await?.and_then(|c| c.window_expires_at);
            Some(switchboard_actors::whatsapp::window::state(
                expires,
                state.now(),
                channel.conversations.settings().closing_lead,
            ))
        }
        _ => None,
    };
    let ticket = Audience::of(&state, &caller).await?.ticket(ticket);
    Ok(web::Json(TicketWithMessages { ticket, messages, window, reply_channels }))
}

/// The channels a reply can reach the ticket's customer on: WhatsApp when they have a
/// conversation with one of our numbers, email when they have an address.
async fn reply_channels(state: &AppState, ticket: &Ticket) -> Result<Vec<Channel>, ApiError> {
    let mut channels = Vec::new();
    if state.whatsapp.is_some() && state.store.conversation_of_customer(ticket.requester_id).await?.is_some() {
        channels.push(Channel::Whatsapp);
    }
    if state.email.is_some()
        && let Some(customer) = state.store.user(ticket.account_id, ticket.requester_id).await?
        && crate::channels::email::email_mailbox(state.store.as_ref(), &customer).await?.is_some()
    {
        channels.push(Channel::Email);
    }
    Ok(channels)
}

/// Refuses a reply on a channel the customer cannot be reached on (422 `no_email_address` /
/// `no_whatsapp_contact`); replies only go out on WhatsApp or email.
async fn check_reply_channel(state: &AppState, ticket: &Ticket, channel: Channel) -> Result<(), ApiError> {
    let reachable = || async { reply_channels(state, ticket).await.map(|channels| channels.contains(&channel)) };
    match channel {
        Channel::Email if !reachable().await? => Err(ApiError::Unprocessable {
            code: "no_email_address",
            message: "this customer has no email address: reply on WhatsApp, or add their address first".to_owned(),
        }),
        Channel::Whatsapp if !reachable().await? => Err(ApiError::Unprocessable {
            code: "no_whatsapp_contact",
            message:
                "this customer has never written on WhatsApp, so there is no conversation to reply in; reply by email"
                    .to_owned(),
        }),
        Channel::Email | Channel::Whatsapp => Ok(()),
        other => Err(ApiError::invalid("channel", format!("replies go out on `whatsapp` or `email`, not `{other}`"))),
    }
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTicket {
    #[garde(inner(length(min = 1, max = 500)))]
    pub subject: Option<String>,
    #[garde(skip)]
    pub status: Option<String>,
    #[garde(skip)]
    pub urgency: Option<Level>,
    #[garde(skip)]
    pub importance: Option<Level>,
    /// `null` clears it.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub ticket_type: Option<Option<String>>,
    /// `null` clears it.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<CategoryId>>,
    /// Replaces the whole tag set.
    #[garde(inner(length(max = 50)))]
    pub tags: Option<Vec<String>>,
    #[garde(length(max = 50))]
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[garde(length(max = 50))]
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Merged into the current values; `null` removes a field.
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<CustomFields>,
    /// Snooze until then (the ticket reopens when it passes); `null` ends a snooze.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snooze_until: Option<Option<Timestamp>>,
    /// Refuse with 409 `stale_seq` unless the ticket's seq is still this.
    #[garde(skip)]
    pub expected_seq: Option<i64>,
    /// The newest seq the sender has seen. A reply or status change is refused with 409
    /// `stale_view` when a customer message newer than this arrived (default: what this node
    /// pushed to the sender's sockets).
    #[garde(skip)]
    pub seen_seq: Option<i64>,
    /// Send even if a newer customer message arrived.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
}

impl PatchTicket {
    fn into_patch(self) -> (TicketPatch, Option<i64>) {
        (
            TicketPatch {
                subject: self.subject,
                status: self.status,
                urgency: self.urgency,
                importance: self.importance,
                ticket_type: self.ticket_type,
                category_id: self.category_id,
                tags: self.tags,
                add_tags: self.add_tags,
                remove_tags: self.remove_tags,
                custom_fields: self.custom_fields,
                snooze_until: self.snooze_until,
            },
            self.expected_seq,
        )
    }
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
        state: &AppState,
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
    pub async fn of(state: &AppState, caller: &Caller) -> Result<Audience, ApiError> {
        let staff = caller.user.role.is_staff();
        let config = if staff { Arc::default() } else { state.account_config(caller.account()).await? };
        Ok(Audience { staff, config })
    }

    pub fn ticket(&self, ticket: Ticket) -> TicketView {
        TicketView::new(self.staff, ticket, &self.config)
    }

    pub fn event(&self, event: &TicketEvent) -> serde_json::Value {
        switchboard_actors::visibility::event_view(self.staff, event, &self.config)
    }
}

/// Collision control: what the sender has seen of the ticket. The request's `seen_seq` wins;
/// otherwise what this node pushed to the sender's sockets; `force` skips the check.
struct Seen {
    seen_seq: Option<i64>,
    force: bool,
}

impl Seen {
    fn resolve(&self, state: &AppState, caller: &Caller, ticket: TicketId) -> Option<i64> {
        if self.force || !caller.user.role.is_staff() {
            return None;
        }
        self.seen_seq.or_else(|| state.live.last_seen(caller.user.id, ticket))
    }
}

async fn context(
    state: &AppState,
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

/// Change a ticket's properties (staff only).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = PatchTicket,
    responses(
        (status = 200, body = ChangeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "stale_seq or ticket_closed", body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[patch("/tickets/{id}")]
async fn update_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<PatchTicket>,
) -> Result<web::Json<ChangeOutcome>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let seen = Seen { seen_seq: body.seen_seq, force: body.force }.resolve(&state, &caller, ticket.id);
    let (patch, expected_seq) = body.into_patch();
    let context = context(&state, &caller, expected_seq, seen).await?;
    let outcome = state.tickets.execute(ticket.id, TicketCommand::Update(patch), context).await?;
    Ok(web::Json(ChangeOutcome::for_caller(&state, &caller, outcome).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    #[garde(length(max = 65536))]
    pub body: String,
    /// Staff only: an internal note, never shown to the customer.
    #[garde(skip)]
    #[serde(default)]
    pub internal: bool,
    /// Defaults to the ticket's channel.
    #[garde(skip)]
    pub channel: Option<Channel>,
    /// Staff only: status to set with the message ("send and resolve").
    #[garde(skip)]
    pub then_status: Option<String>,
    /// Refuse with 409 `stale_seq` unless the ticket's seq is still this.
    #[garde(skip)]
    pub expected_seq: Option<i64>,
    /// The newest seq the sender has seen. A reply or status change is refused with 409
    /// `stale_view` when a customer message newer than this arrived (default: what this node
    /// pushed to the sender's sockets).
    #[garde(skip)]
    pub seen_seq: Option<i64>,
    /// Send even if a newer customer message arrived.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
    /// WhatsApp: send an approved template (the only thing allowed outside the 24-hour window).
    #[garde(dive)]
    pub template: Option<TemplateRequest>,
    /// WhatsApp: an interactive message (`{"type": "button" | "list", "body": …, "action": …}`),
    /// sent as the Graph API describes it.
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub interactive: Option<serde_json::Value>,
    /// WhatsApp: react to a customer message (its id in this API) with an emoji.
    #[garde(dive)]
    pub reaction: Option<ReactionRequest>,
    /// WhatsApp: quote this message (its id in this API) in the reply.
    #[garde(skip)]
    pub reply_to: Option<String>,
    /// Files uploaded with `POST /api/v1/uploads`; WhatsApp sends one per message, with the
    /// body as its caption.
    #[garde(length(max = 10), dive)]
    #[serde(default)]
    pub attachments: Vec<FileRef>,
}

/// An uploaded file, as `POST /api/v1/uploads` answered it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct FileRef {
    /// The `url` the upload answered.
    #[garde(length(min = 1, max = 200))]
    pub url: String,
    /// The name the customer sees.
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(alias = "file_name")]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    #[garde(length(min = 1, max = 512))]
    pub name: String,
    /// e.g. `en_US`.
    #[garde(length(min = 2, max = 16))]
    pub language: String,
    /// Positional values for `{{1}}`, `{{2}}` …
    #[garde(length(max = 20))]
    #[serde(default)]
    pub parameters: Vec<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    #[garde(length(min = 1, max = 100))]
    pub message_id: String,
    #[garde(length(min = 1, max = 32))]
    pub emoji: String,
}

/// The uploaded files a message names: each must exist and be the author's to attach (they
/// uploaded it, or it arrived on this ticket), so no one can pass on a file of another account or
/// another customer by its hash.
async fn uploaded_files(
    state: &AppState,
    caller: &Caller,
    ticket: TicketId,
    refs: &[FileRef],
) -> Result<Vec<Attachment>, ApiError> {
    let mut files = Vec::with_capacity(refs.len());
    for FileRef { url, name } in refs {
        let hash = url.rsplit('/').next().unwrap_or_default();
        let missing = || ApiError::invalid("attachments", format!("no uploaded file `{url}`"));
        if !state.store.media_attachable(caller.account(), hash, caller.user.id, ticket).await? {
            return Err(missing());
        }
        let stored = match &state.whatsapp {
            Some(channel) => channel.media.get(hash).await,
            None => None,
        };
        let (bytes, content_type) = stored.ok_or_else(missing)?;
        let name = name.clone().unwrap_or_else(|| format!("file-{}", &hash[..hash.len().min(12)]));
        files.push(crate::channels::whatsapp::media::attachment(name, content_type, bytes.len(), hash));
    }
    Ok(files)
}

/// What a staff reply on a WhatsApp ticket becomes: body and channel payload, after the window
/// and template checks.
async fn whatsapp_reply(
    state: &AppState,
    ticket: &Ticket,
    body: &mut PostMessage,
) -> Result<Option<serde_json::Value>, ApiError> {
    let stored_wamid = |id: &str, messages: &[Message]| {
        messages
            .iter()
            .find(|message| message.id == id)
            .and_then(|message| message.provider_id.clone())
            .ok_or_else(|| ApiError::invalid("reply_to", "no such message with a WhatsApp id on this ticket"))
    };
    let needs_messages = body.reply_to.is_some() || body.reaction.is_some();
    let messages = if needs_messages { state.store.ticket_messages(ticket.id).await? } else { Vec::new() };
    let mut payload = serde_json::Map::new();
    if let Some(template) = &body.template {
        let known = state.store.templates().await?;
        let found = known
            .iter()
            .find(|candidate| {
                candidate.name == template.name && candidate.language == template.language && candidate.sendable()
            })
            .ok_or_else(|| {
                ApiError::invalid(
                    "template",
                    format!("no approved template `{}` in `{}`", template.name, template.language),
                )
            })?;
        if template.parameters.len() as i64 != found.parameter_count {
            return Err(ApiError::invalid(
                "template.parameters",
                format!("`{}` takes {} parameter(s)", found.name, found.parameter_count),
            ));
        }
        body.body = found.render(&template.parameters);
        payload.insert(
            "template".to_owned(),
            serde_json::json!({"name": found.name, "language": found.language, "parameters": template.parameters}),
        );
    } else {
        let conversation = state.store.conversation_of_customer(ticket.requester_id).await?;
        let open = conversation
            .and_then(|conversation| conversation.window_expires_at)
            .is_some_and(|until| until > state.now());
        if !open {
            let templates: Vec<String> = state
                .store
                .templates()
                .await?
                .into_iter()
                .filter(|template| template.sendable())
                .map(|template| format!("{} ({})", template.name, template.language))
                .collect();
            return Err(ApiError::Unprocessable {
                code: "window_closed",
                message: format!(
                    "the customer last wrote more than 24 hours ago: only a template can be sent. Approved templates: {}",
                    if templates.is_empty() { "none synced yet".to_owned() } else { templates.join(", ") }
                ),
            });
        }
        if let Some(interactive) = &body.interactive {
            if body.body.trim().is_empty() {
                body.body = interactive["body"]["text"].as_str().unwrap_or("[interactive message]").to_owned();
            }
            payload.insert("interactive".to_owned(), interactive.clone());
        }
        if let Some(reaction) = &body.reaction {
            let wamid = stored_wamid(&reaction.message_id, &messages)?;
            body.body = format!("Reacted {}", reaction.emoji);
            payload.insert("reaction".to_owned(), serde_json::json!({"message_id": wamid, "emoji": reaction.emoji}));
        }
    }
    if let Some(quoted) = &body.reply_to {
        payload.insert("reply_to".to_owned(), serde_json::Value::String(stored_wamid(quoted, &messages)?));
    }
    Ok((!payload.is_empty()).then_some(serde_json::Value::Object(payload)))
}

/// Add a public reply or internal note (staff), or a customer message (the requester).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = PostMessage,
    responses(
        (status = 201, body = ChangeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[post("/tickets/{id}/messages")]
async fn add_message(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<PostMessage>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    body.validate()?;
    let staff = caller.user.role.is_staff();
    if !staff && (body.internal || body.then_status.is_some()) {
        return Err(ApiError::forbidden("customers cannot write internal notes or set a status"));
    }
    let ticket = visible_ticket(&state, &caller, *id).await?;
    if !staff && ticket.requester_id != caller.user.id {
        company_may_write(&state, &caller).await?;
    }
    let kind = match (staff, body.internal) {
        (false, _) => MessageKind::Customer,
        (true, true) => MessageKind::Note,
        (true, false) => MessageKind::Reply,
    };
    let whatsapp = kind == MessageKind::Reply && body.channel.unwrap_or(ticket.channel) == Channel::Whatsapp;
    // A reply goes out on the channel picked (default: the ticket's), which must reach the
    // customer; tickets opened on the web or by phone may keep replies in the hub.
    if kind == MessageKind::Reply {
        match (body.channel, ticket.channel) {
            (Some(channel), _) | (None, channel @ (Channel::Whatsapp | Channel::Email)) => {
                check_reply_channel(&state, &ticket, channel).await?
            }
            (None, _) => {}
        }
    }
    let channel_only =
        body.template.is_some() || body.interactive.is_some() || body.reaction.is_some() || body.reply_to.is_some();
    if channel_only && !whatsapp {
        return Err(ApiError::invalid(
            "template",
            "templates, interactive messages, reactions and quotes are WhatsApp replies",
        ));
    }
    let payload = if whatsapp { whatsapp_reply(&state, &ticket, &mut body).await? } else { None };
    let attachments = uploaded_files(&state, &caller, ticket.id, &body.attachments).await?;
    if whatsapp && attachments.len() > 1 {
        return Err(ApiError::invalid("attachments", "WhatsApp sends one file per message"));
    }
    let message = NewMessage {
        kind,
        body: body.body,
        channel: body.channel,
        attachments,
        then_status: body.then_status,
        payload,
        provider_id: None,
    };
    let seen = Seen { seen_seq: body.seen_seq, force: body.force }.resolve(&state, &caller, ticket.id);
    let context = context(&state, &caller, body.expected_seq, seen).await?;
    let outcome = state.tickets.execute(ticket.id, TicketCommand::AddMessage(message), context).await?;
    metrics::counter!("switchboard_messages_added_total", "kind" => kind.as_str()).increment(1);
    Ok(HttpResponse::Created().json(ChangeOutcome::for_caller(&state, &caller, outcome).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// An active agent, supervisor or admin; `null` unassigns; absent keeps the current one.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<UserId>>,
    /// `null` removes the team; absent keeps the current one.
    #[garde(skip)]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<TeamId>>,
    #[garde(inner(length(max = 500)))]
    pub reason: Option<String>,
}

async fn assignment(
    state: &AppState,
    caller: &Caller,
    ticket: &Ticket,
    body: &AssignRequest,
) -> Result<Assignment, ApiError> {
    let assignee_id = body.assignee_id.unwrap_or(ticket.assignee_id);
    let team_id = body.team_id.unwrap_or(ticket.team_id);
    if body.assignee_id.is_none() && body.team_id.is_none() {
        return Err(ApiError::invalid("assignee_id", "give assignee_id, team_id or both"));
    }
    if let Some(Some(assignee)) = body.assignee_id {
        staff_member(state, caller.account(), assignee).await?;
    }
    if let Some(Some(team)) = body.team_id {
        state.store.team(caller.account(), team).await?.ok_or_else(|| ApiError::invalid("team_id", "no such team"))?;
    }
    Ok(Assignment { assignee_id, team_id, reason: body.reason.clone() })
}

/// Assign a ticket to an agent and/or a team, with a reason.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = AssignRequest,
    responses((status = 200, body = ChangeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/tickets/{id}/assign")]
async fn assign_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<AssignRequest>,
) -> Result<web::Json<ChangeOutcome>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let assignment = assignment(&state, &caller, &ticket, &body).await?;
    let context = context(&state, &caller, None, None).await?;
    let outcome = state.tickets.execute(ticket.id, TicketCommand::Assign(assignment), context).await?;
    Ok(web::Json(ChangeOutcome::for_caller(&state, &caller, outcome).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    #[garde(length(min = 1, max = 100))]
    pub ids: Vec<TicketId>,
    #[garde(dive)]
    pub patch: Option<PatchTicket>,
    #[garde(dive)]
    pub assign: Option<AssignRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub id: TicketId,
    /// The new seq when the change applied.
    pub seq: Option<i64>,
    /// Why this ticket was not changed.
    pub error: Option<ErrorBody>,
}

/// Apply one change to up to 100 tickets. Everything is checked before anything is written;
/// each ticket is then changed on its own and reported on its own.
#[utoipa::path(
    tag = "tickets",
    request_body = BulkRequest,
    responses((status = 200, body = Page<BulkItem>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/tickets/bulk")]
async fn bulk_update(
    state: web::Data<AppState>,
    caller: Caller,
    body: ApiJson<BulkRequest>,
) -> Result<web::Json<Page<BulkItem>>, ApiError> {
    caller.require_staff()?;
    let body = body.into_inner();
    body.validate()?;
    if body.patch.is_none() && body.assign.is_none() {
        return Err(ApiError::invalid("patch", "give a patch, an assign, or both"));
    }
    let mut ids = body.ids.clone();
    ids.sort_unstable();
    ids.dedup();
    debug_assert!(ids.len() <= MAX_BULK);
    let mut tickets = Vec::with_capacity(ids.len());
    for id in &ids {
        tickets.push(visible_ticket(&state, &caller, *id).await?);
    }
    let mut assignments = Vec::new();
    if let Some(assign) = &body.assign {
        for ticket in &tickets {
            assignments.push(assignment(&state, &caller, ticket, assign).await?);
        }
    }
    let context = context(&state, &caller, None, None).await?;
    let patch = body.patch.map(|patch| patch.into_patch().0);
    if let Some(patch) = &patch {
        // Validate against the first ticket without writing, so a bad value fails the whole request.
        if let Some(first) = tickets.first() {
            first.decide(&TicketCommand::Update(patch.clone()), &context, state.now())?;
        }
    }
    let mut items = Vec::with_capacity(tickets.len());
    for (index, ticket) in tickets.iter().enumerate() {
        let mut result = Ok(ticket.seq);
        if let Some(patch) = &patch {
            result = state
                .tickets
                .execute(ticket.id, TicketCommand::Update(patch.clone()), context.clone())
                .await
                .map(|outcome| outcome.ticket.seq);
        }
        if let (Ok(_), Some(assignment)) = (&result, assignments.get(index)) {
            result = state
                .tickets
                .execute(ticket.id, TicketCommand::Assign(assignment.clone()), context.clone())
                .await
                .map(|outcome| outcome.ticket.seq);
        }
        items.push(match result {
            Ok(seq) => BulkItem { id: ticket.id, seq: Some(seq), error: None },
            Err(error) => {
                let error = ApiError::from(error);
                BulkItem {
                    id: ticket.id,
                    seq: None,
                    error: Some(ErrorBody { error: error.code(), message: error.to_string(), field: None }),
                }
            }
        });
    }
    Ok(web::Json(Page { items, next: None }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Return events with a seq greater than this (default 0: from the start).
    after: Option<i64>,
    /// At most this many (1–1000, default 1000).
    limit: Option<i64>,
}

/// The ticket's event log after a seq, in order. Customers see internal notes as `private`
/// entries, so their seq stays gap-free.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id"), EventParams),
    responses((status = 200, body = Page<TicketEvent>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[get("/tickets/{id}/events")]
async fn ticket_events(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TicketId>,
    params: web::Query<EventParams>,
) -> Result<web::Json<Page<serde_json::Value>>, ApiError> {
    let ticket = visible_ticket(&state, &caller, *id).await?;
    let after = params.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::invalid("after", "must be 0 or more"));
    }
    let limit = match params.limit.unwrap_or(MAX_EVENT_PAGE) {
        limit @ 1..=MAX_EVENT_PAGE => limit,
        _ => return Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_EVENT_PAGE}"))),
    };
    let events = state.store.ticket_events(ticket.id, after, limit).await?;
    let audience = Audience::of(&state, &caller).await?;
    let next = (events.len() as i64 == limit).then(|| events.last().map(|event| event.seq.to_string())).flatten();
    let items = events.iter().map(|event| audience.event(event)).collect();
    Ok(web::Json(Page { items, next }))
}
