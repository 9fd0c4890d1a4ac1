//! Opening a ticket: customers their own, staff on a customer's behalf.

use super::*;

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
    /// Files uploaded with `POST /uploads` by the caller, attached to the first message.
    #[garde(length(max = 10))]
    #[serde(default)]
    pub attachments: Vec<FileRef>,
}

/// The ticket id no file belongs to: media rows of files not yet on a ticket carry 0.
const NO_TICKET_YET: TicketId = 0;

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
pub(super) async fn create_ticket(
    state: Api,
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
            // Triage is the team's: customers describe (subject, body, category), staff rate.
            ("urgency", body.urgency.is_some()),
            ("importance", body.importance.is_some()),
            ("ticket_type", body.ticket_type.is_some()),
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
    // A new ticket has no files of its own yet: only what the caller uploaded can be attached.
    let first_attachments = uploaded_files(&state, &caller, NO_TICKET_YET, &body.attachments).await?;
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
        minimum_priority: switchboard_actors::companies::sla_tier(&*state.store, account, requester.company_id).await?,
        assignee_id: body.assignee_id,
        team_id: body.team_id,
        created_by: Some(caller.user.id),
        first_payload: None,
        first_provider_id: None,
        first_attachments,
        window: None,
    };
    let outcome = state.tickets.create(draft, &config).await?;
    metrics::counter!("switchboard_tickets_created_total").increment(1);
    let audience = Audience::of(&state, &caller).await?;
    let messages = audience.messages(switchboard_actors::ticket::messages_of(&outcome.events));
    Ok(HttpResponse::Created().json(TicketWithMessages {
        ticket: audience.ticket(outcome.ticket),
        messages,
        window: None,
        reply_channels: Vec::new(),
    }))
}

pub(super) async fn resolve_requester(state: &Api, account: AccountId, body: &CreateTicket) -> Result<User, ApiError> {
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
