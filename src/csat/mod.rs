//! CSAT, the service (issue 14 item 4): an account's settings, answers and comments from every
//! channel (the portal's API, the email page, WhatsApp taps and the next message after one), the
//! signed tokens of the email links, and (`surveys.rs`) the surveys asked on resolve and
//! cancelled on reopen. The rules are `switchboard_actors::csat`; every change to a ticket goes
//! through its TicketActor (`RecordCsat`), the survey rows through `CsatPort`.

mod surveys;

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use switchboard_actors::clock::Clock;
use switchboard_actors::csat::{self, CsatSettings, Survey, SurveyChannel, SurveyStatus};
use switchboard_actors::domain::*;
use switchboard_actors::store::{Store, StoreError};
use switchboard_actors::ticket::{CommandContext, TicketCommand, TicketError, Tickets};
use switchboard_actors::whatsapp::InboundMessage;

use crate::accounts::AccountConfigs;

/// The generated secret the email links' tokens are signed with (first writer wins).
pub const TOKEN_KEY_SECRET: &str = "csat_token_key";

/// Why an answer or a comment was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CsatError {
    #[error("no survey is waiting for an answer on this ticket")]
    NotPending,
    #[error("this survey was already answered; you can still add a comment")]
    AlreadyAnswered,
    #[error("rate the survey before commenting on it")]
    NotAnswered,
    #[error("score: {0}")]
    InvalidScore(String),
    #[error("comment: {0}")]
    InvalidComment(String),
    #[error("this rating link is not valid (it was changed or cut short); use the link from the email")]
    InvalidToken,
    #[error(transparent)]
    Ticket(#[from] TicketError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a WhatsApp message meant to CSAT.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A tap on a survey's list, button or quick-reply: the answer, not a message.
    Answer,
    /// Anything else: the conversation handles it (it may also have become a comment).
    Message,
}

/// How long this node trusts the settings it read: the WhatsApp ingest path asks for every
/// message, and with CSAT off (the default) that must cost no query. An admin's save on this
/// node takes effect at once; on another node within this long.
const SETTINGS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Csat {
    store: Arc<dyn Store>,
    settings: dashmap::DashMap<AccountId, (std::time::Instant, CsatSettings)>,
    tickets: Tickets,
    accounts: Arc<AccountConfigs>,
    clock: Arc<dyn Clock>,
    token_key: Vec<u8>,
    /// Where the email links point (`scheme://host[:port]`).
    public_origin: String,
}

impl Csat {
    pub fn new(
        store: Arc<dyn Store>,
        tickets: Tickets,
        accounts: Arc<AccountConfigs>,
        clock: Arc<dyn Clock>,
        token_key: &str,
        public_origin: String,
    ) -> Arc<Csat> {
        Arc::new(Csat {
            store,
            settings: dashmap::DashMap::new(),
            tickets,
            accounts,
            clock,
            token_key: token_key.as_bytes().to_vec(),
            public_origin,
        })
    }

    /// The account's settings: what an admin saved, else the defaults (off).
    pub async fn settings(&self, account: AccountId) -> Result<CsatSettings, StoreError> {
        let settings = self.store.csat_settings(account).await?.unwrap_or_default();
        self.settings.insert(account, (std::time::Instant::now(), settings.clone()));
        Ok(settings)
    }

    /// [`Csat::settings`], as read within [`SETTINGS_TTL`].
    async fn recent_settings(&self, account: AccountId) -> Result<CsatSettings, StoreError> {
        if let Some(entry) = self.settings.get(&account)
            && entry.0.elapsed() < SETTINGS_TTL
        {
            return Ok(entry.1.clone());
        }
        self.settings(account).await
    }

    async fn takes_whatsapp_comments(&self, account: AccountId) -> Result<bool, StoreError> {
        let settings = self.recent_settings(account).await?;
        Ok(settings.enabled && settings.channels.contains(&SurveyChannel::Whatsapp))
    }

    pub async fn set_settings(&self, account: AccountId, settings: &CsatSettings) -> Result<(), StoreError> {
        self.store.set_csat_settings(account, settings).await?;
        self.settings.remove(&account);
        Ok(())
    }

    /// Records `score` on a pending survey: the row first (atomically, so two taps or a tap and
    /// a reopen settle once), then the `csat_received` event through the ticket's actor; if that
    /// fails, the row is taken back.
    pub async fn answer(&self, survey: &Survey, score: i64) -> Result<Survey, CsatError> {
        if !survey.scale.accepts(score) {
            let expected = match survey.scale {
                csat::Scale::Five => "a whole number from 1 to 5",
                csat::Scale::Thumbs => "1 (thumbs down) or 5 (thumbs up)",
            };
            return Err(CsatError::InvalidScore(format!(
                "must be {expected} on this survey's `{}` scale",
                survey.scale
            )));
        }
        if !self.store.answer_survey(survey.id, score, self.clock.now()).await? {
            return Err(match self.store.survey(survey.id).await?.map(|survey| survey.status) {
                Some(SurveyStatus::Answered) => CsatError::AlreadyAnswered,
                _ => CsatError::NotPending,
            });
        }
        let event = EventKind::CsatReceived(csat::RatingReceived {
            survey_id: survey.id,
            cycle: survey.cycle,
            score,
            scale: survey.scale,
            channel: survey.channel,
            agent_ids: survey.agent_ids.clone(),
        });
        if let Err(error) = self.record(survey, event).await {
            self.store.unanswer_survey(survey.id).await?;
            return Err(error);
        }
        Ok(self.store.survey(survey.id).await?.unwrap_or_else(|| survey.clone()))
    }

    /// Adds (or replaces) the comment on an answered survey.
    pub async fn comment(&self, survey: &Survey, comment: &str) -> Result<Survey, CsatError> {
        let comment = comment.trim();
        if comment.is_empty() {
            return Err(CsatError::InvalidComment("must not be empty".to_owned()));
        }
        if comment.chars().count() > csat::MAX_COMMENT_CHARS {
            return Err(CsatError::InvalidComment(format!("must be at most {} characters", csat::MAX_COMMENT_CHARS)));
        }
        if survey.status != SurveyStatus::Answered {
            return Err(CsatError::NotAnswered);
        }
        self.record(
            survey,
            EventKind::CsatCommented(csat::RatingComment { survey_id: survey.id, comment: comment.to_owned() }),
        )
        .await?;
        self.store.set_survey_comment(survey.id, comment).await?;
        Ok(self.store.survey(survey.id).await?.unwrap_or_else(|| survey.clone()))
    }

    /// Appends a CSAT event to the survey's ticket as its customer.
    async fn record(&self, survey: &Survey, event: EventKind) -> Result<(), CsatError> {
        let config = self.accounts.get(survey.account_id).await?;
        let context = CommandContext { actor_id: Some(survey.customer_id), ..CommandContext::system(config) };
        self.tickets
            .execute(survey.ticket_id, TicketCommand::RecordCsat { event: Box::new(event), message: None }, context)
            .await?;
        Ok(())
    }

    /// What an inbound WhatsApp message from `customer` means here: a survey's answer id makes
    /// it the answer (taken whatever the survey's state, so a re-delivered tap changes nothing);
    /// text within [`csat::COMMENT_WINDOW`] of their last WhatsApp rating, on a survey without
    /// a comment, becomes its comment and still goes on as a message.
    pub async fn whatsapp_inbound(&self, account: AccountId, message: &InboundMessage) -> Result<Inbound, CsatError> {
        let answer = csat::answer_in_payload(&message.payload);
        let text = message.kind == "text" && !message.body.trim().is_empty();
        // Text is a comment only while WhatsApp surveys are on (with CSAT off, no query at all).
        if answer.is_none() && !(text && self.takes_whatsapp_comments(account).await?) {
            return Ok(Inbound::Message);
        }
        let mut customer = None;
        for address in message.from.lookup() {
            customer = self.store.customer_by_contact(account, Channel::Whatsapp, address).await?;
            if customer.is_some() {
                break;
            }
        }
        let Some(customer) = customer.map(|user| user.id) else { return Ok(Inbound::Message) };
        if let Some((survey_id, score)) = answer {
            match self.store.survey(survey_id).await? {
                Some(survey) if survey.account_id == account && survey.customer_id == customer => {
                    match self.answer(&survey, score).await {
                        Ok(_) | Err(CsatError::AlreadyAnswered | CsatError::NotPending) => {}
                        Err(CsatError::InvalidScore(reason)) => {
                            tracing::warn!(survey_id, %reason, "a CSAT tap out of scale")
                        }
                        Err(error) => return Err(error),
                    }
                }
                _ => tracing::warn!(survey_id, "a CSAT tap for a survey this customer was not asked"),
            }
            return Ok(Inbound::Answer);
        }
        let Some(survey) = self.store.last_answered(account, customer).await? else { return Ok(Inbound::Message) };
        let recent = survey.answered_at.is_some_and(|at| message.timestamp.duration_since(at) <= csat::COMMENT_WINDOW);
        if survey.channel == SurveyChannel::Whatsapp && survey.comment.is_none() && recent {
            let text = csat::fit_comment(&message.body);
            if let Err(error) = self.comment(&survey, &text).await {
                tracing::warn!(survey_id = survey.id, %error, "could not take the message as the rating's comment");
            }
        }
        Ok(Inbound::Message)
    }

    /// The token an email link names `survey` by: its id and an HMAC-SHA256 of it.
    pub fn token(&self, survey: i64) -> String {
        format!("{survey}.{}", self.signature(survey, "survey"))
    }

    /// The survey a link's token names, if its signature holds.
    pub async fn survey_of_token(&self, token: &str) -> Result<Survey, CsatError> {
        let (id, signature) = token.split_once('.').ok_or(CsatError::InvalidToken)?;
        let id: i64 = id.parse().map_err(|_| CsatError::InvalidToken)?;
        let expected = self.signature(id, "survey");
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), signature.as_bytes())) {
            return Err(CsatError::InvalidToken);
        }
        self.store.survey(id).await?.ok_or(CsatError::InvalidToken)
    }

    /// The comment form's anti-forgery value for `survey` (the page is reached by its token only,
    /// but a form names its purpose too).
    pub fn form_key(&self, survey: i64) -> String {
        self.signature(survey, "comment-form")
    }

    pub fn form_key_valid(&self, survey: i64, given: &str) -> bool {
        bool::from(subtle::ConstantTimeEq::ct_eq(self.form_key(survey).as_bytes(), given.as_bytes()))
    }

    fn signature(&self, survey: i64, purpose: &str) -> String {
        // HMAC takes keys of any length, so this never fails.
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&self.token_key) else { return String::new() };
        mac.update(format!("csat:{purpose}:{survey}").as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The one-click link that rates `survey` with `score`.
    pub fn link(&self, survey: i64, score: i64) -> String {
        format!("{}/csat/{}?score={score}", self.public_origin, self.token(survey))
    }
}

#[async_trait::async_trait]
impl csat::WhatsAppAnswers for Csat {
    async fn take(&self, account: AccountId, message: &InboundMessage) -> Result<bool, TicketError> {
        match self.whatsapp_inbound(account, message).await {
            Ok(inbound) => Ok(inbound == Inbound::Answer),
            Err(CsatError::Ticket(error)) => Err(error),
            Err(CsatError::Store(error)) => Err(TicketError::Store(error)),
            // Refusals of a comment: the message still goes on.
            Err(error) => {
                tracing::warn!(wamid = %message.wamid, %error, "CSAT refused an inbound WhatsApp message");
                Ok(csat::answer_in_payload(&message.payload).is_some())
            }
        }
    }
}
