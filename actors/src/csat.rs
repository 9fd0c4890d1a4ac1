//! Customer satisfaction surveys (issue 14 item 4), the pure half: an account's CSAT settings and
//! their validation, a survey and its lifecycle (pending → answered | cancelled), which channel a
//! resolved ticket is surveyed on, the resolution cycle a resolve ends and who replied in it, the
//! ids a WhatsApp answer carries, and the storage port (`CsatPort`, migration 0028).
//!
//! Scores are stored on one scale so averages mix: five-point answers as 1–5, thumbs as 1 (down)
//! or 5 (up), with the survey's `scale` kept beside them.

use std::collections::BTreeSet;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::store::StoreResult;

crate::domain::string_enum!(
    /// How a customer rates: one to five, or thumbs up / down (stored as 5 / 1).
    Scale { Five => "five", Thumbs => "thumbs" }
);

crate::domain::string_enum!(
    /// Where a survey is asked: a WhatsApp message, an email with one-click links, or the portal's
    /// rating widget (no message).
    SurveyChannel { Whatsapp => "whatsapp", Email => "email", Portal => "portal" }
);

crate::domain::string_enum!(
    /// A survey waits for its answer until the customer rates (`answered`) or the ticket reopens
    /// first (`cancelled`).
    SurveyStatus { Pending => "pending", Answered => "answered", Cancelled => "cancelled" }
);

/// The stored score of a thumbs-down.
pub const THUMBS_DOWN: i64 = 1;
/// The stored score of a thumbs-up.
pub const THUMBS_UP: i64 = 5;
/// A rating at or below this raises the `csat_received` automation event.
pub const LOW_SCORE: i64 = 2;
/// Longest question or comment prompt, in characters (a WhatsApp list body takes 4,096, a
/// button message 1,024; the question also fills a template parameter).
pub const MAX_QUESTION_CHARS: usize = 500;
/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;
/// Longest cool-down, in days.
pub const MAX_COOLDOWN_DAYS: i64 = 365;
/// The customer's next WhatsApp message within this long after a rating is taken as its
/// comment (Chatwoot-style "anything else?" without a web page); later ones are just messages.
pub const COMMENT_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);

/// An account's CSAT settings (`GET/PUT /api/v1/account/csat`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CsatSettings {
    /// Off by default: nobody is surveyed until an admin turns it on.
    pub enabled: bool,
    pub question: String,
    pub scale: Scale,
    /// The channels surveys go out on; a ticket whose customer is reached elsewhere is not
    /// surveyed.
    pub channels: Vec<SurveyChannel>,
    /// No customer is surveyed more often than once in this many days (0: once per resolution).
    pub cooldown_days: i64,
    /// Asked after the rating: the email page's comment box, the WhatsApp follow-up line.
    pub comment_prompt: String,
}

impl Default for CsatSettings {
    fn default() -> Self {
        CsatSettings {
            enabled: false,
            question: "How would you rate the support you received?".to_owned(),
            scale: Scale::Five,
            channels: vec![SurveyChannel::Whatsapp, SurveyChannel::Email, SurveyChannel::Portal],
            cooldown_days: 7,
            comment_prompt: "Anything you would like to add? Just write it here.".to_owned(),
        }
    }
}

/// A setting that cannot be saved: the field and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidSetting {
    pub field: &'static str,
    pub message: String,
}

impl CsatSettings {
    /// Trims the texts and removes repeated channels, or names the first field that is wrong.
    pub fn normalised(mut self) -> Result<CsatSettings, InvalidSetting> {
        let invalid = |field: &'static str, message: String| Err(InvalidSetting { field, message });
        self.question = self.question.trim().to_owned();
        self.comment_prompt = self.comment_prompt.trim().to_owned();
        for (field, text) in [("question", &self.question), ("comment_prompt", &self.comment_prompt)] {
            if text.is_empty() {
                return invalid(field, "must not be empty".to_owned());
            }
            if text.chars().count() > MAX_QUESTION_CHARS {
                return invalid(field, format!("must be at most {MAX_QUESTION_CHARS} characters"));
            }
        }
        if !(0..=MAX_COOLDOWN_DAYS).contains(&self.cooldown_days) {
            return invalid("cooldown_days", format!("must be between 0 and {MAX_COOLDOWN_DAYS}"));
        }
        let mut seen = BTreeSet::new();
        self.channels.retain(|channel| seen.insert(*channel));
        if self.enabled && self.channels.is_empty() {
            return invalid("channels", "name at least one channel to survey on".to_owned());
        }
        Ok(self)
    }
}

impl Scale {
    /// Whether `score` is an answer on this scale (thumbs: 1 down, 5 up).
    pub fn accepts(self, score: i64) -> bool {
        match self {
            Scale::Five => (1..=5).contains(&score),
            Scale::Thumbs => score == THUMBS_DOWN || score == THUMBS_UP,
        }
    }

    /// The answers, lowest first, each with its label.
    pub fn choices(self) -> Vec<(i64, &'static str)> {
        match self {
            Scale::Five => {
                vec![(1, "1 - Very poor"), (2, "2 - Poor"), (3, "3 - Okay"), (4, "4 - Good"), (5, "5 - Excellent")]
            }
            Scale::Thumbs => vec![(THUMBS_DOWN, "👎 Not good"), (THUMBS_UP, "👍 Good")],
        }
    }

    /// The approved WhatsApp template (quick-reply buttons, one per choice, in `choices` order)
    /// sent outside the 24-hour window. Its parameters: the ticket number, the question.
    pub fn template_name(self) -> &'static str {
        match self {
            Scale::Five => "csat_five",
            Scale::Thumbs => "csat_thumbs",
        }
    }
}

/// The template language the CSAT templates are looked up in.
pub const TEMPLATE_LANGUAGE: &str = "en_US";

/// `csat_requested`: a survey was asked for the cycle just resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyAsked {
    pub survey_id: i64,
    pub cycle: i64,
    pub channel: SurveyChannel,
    pub scale: Scale,
}

/// `csat_received`: the customer rated a cycle, 1–5 (thumbs stored as 1 / 5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingReceived {
    pub survey_id: i64,
    pub cycle: i64,
    pub score: i64,
    pub scale: Scale,
    pub channel: SurveyChannel,
    /// Every person who wrote a public reply in the rated cycle.
    pub agent_ids: Vec<UserId>,
}

/// `csat_commented`: the comment on a rating, added or replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingComment {
    pub survey_id: i64,
    pub comment: String,
}

/// One survey: a resolution cycle of a ticket, asked once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub id: i64,
    pub account_id: AccountId,
    pub ticket_id: TicketId,
    pub customer_id: UserId,
    /// The resolution cycle it rates: 1, then 2 after the first reopen, …
    pub cycle: i64,
    pub channel: SurveyChannel,
    pub scale: Scale,
    pub question: String,
    pub comment_prompt: String,
    pub status: SurveyStatus,
    pub score: Option<i64>,
    pub comment: Option<String>,
    /// The ticket's team when it was resolved (who may list the rating).
    pub team_id: Option<TeamId>,
    /// Who is credited: every person who wrote a public reply in the cycle.
    pub agent_ids: Vec<UserId>,
    /// The message that carried it (WhatsApp, email): its delivery is the survey's funnel.
    pub message_id: Option<String>,
    pub created_at: Timestamp,
    pub answered_at: Option<Timestamp>,
}

/// A survey about to be stored (pending).
#[derive(Clone, Debug, PartialEq)]
pub struct NewSurvey {
    pub account_id: AccountId,
    pub ticket_id: TicketId,
    pub customer_id: UserId,
    pub cycle: i64,
    pub channel: SurveyChannel,
    pub scale: Scale,
    pub question: String,
    pub comment_prompt: String,
    pub team_id: Option<TeamId>,
    pub agent_ids: Vec<UserId>,
}

/// One survey's progress, as the funnel counts it.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelRow {
    pub channel: SurveyChannel,
    pub status: SurveyStatus,
    /// How far the carrying message got (`None`: no message, the portal).
    pub delivery: Option<DeliveryStatus>,
}

/// Surveys and the per-account settings; a survey moves out of `pending` once, atomically.
#[async_trait]
pub trait CsatPort: Send + Sync + 'static {
    async fn csat_settings(&self, account: AccountId) -> StoreResult<Option<CsatSettings>>;
    async fn set_csat_settings(&self, account: AccountId, settings: &CsatSettings) -> StoreResult<()>;
    /// Stores a pending survey; `Conflict` when its ticket's cycle already has one.
    async fn create_survey(&self, survey: NewSurvey) -> StoreResult<Survey>;
    async fn survey(&self, id: i64) -> StoreResult<Option<Survey>>;
    /// The ticket's newest survey.
    async fn latest_survey(&self, ticket: TicketId) -> StoreResult<Option<Survey>>;
    /// When the customer was last surveyed (cancelled surveys were asked too).
    async fn last_surveyed(&self, account: AccountId, customer: UserId) -> StoreResult<Option<Timestamp>>;
    /// The customer's newest answered survey.
    async fn last_answered(&self, account: AccountId, customer: UserId) -> StoreResult<Option<Survey>>;
    async fn set_survey_message(&self, id: i64, message_id: &str) -> StoreResult<()>;
    /// Records the score if the survey is still pending; answers whether it was.
    async fn answer_survey(&self, id: i64, score: i64, at: Timestamp) -> StoreResult<bool>;
    /// Takes an answer back (its event could not be written).
    async fn unanswer_survey(&self, id: i64) -> StoreResult<()>;
    async fn set_survey_comment(&self, id: i64, comment: &str) -> StoreResult<()>;
    /// Cancels the survey if it is still pending; answers whether it was.
    async fn cancel_survey(&self, id: i64, at: Timestamp) -> StoreResult<bool>;
    /// The account's surveys answered in `[from, to)`, newest first, at most `limit`.
    async fn answered_surveys(
        &self,
        account: AccountId,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<Survey>>;
    /// The account's surveys sent in `[from, to)` with how far their messages got.
    async fn survey_funnel(&self, account: AccountId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<FunnelRow>>;
}

/// What the WhatsApp channel asks CSAT about each inbound message before the conversation
/// handles it (set by the composition root; the channel knows no surveys).
#[async_trait]
pub trait WhatsAppAnswers: Send + Sync + 'static {
    /// `true` when the message was a survey's answer (a list row, reply button or template
    /// quick-reply carrying its id): it is not a message to the ticket. Text right after a
    /// rating may be taken as its comment and still answers `false`. An error leaves the
    /// webhook to be processed again.
    async fn take(
        &self,
        account: AccountId,
        message: &crate::whatsapp::InboundMessage,
    ) -> Result<bool, crate::ticket::TicketError>;
}

/// Where a resolved ticket's customer is asked: where they last wrote (WhatsApp, email), else
/// the portal (tickets opened on the web, by the API or by phone).
pub fn survey_channel(ticket: &Ticket) -> SurveyChannel {
    match ticket.reply_channel() {
        Channel::Whatsapp => SurveyChannel::Whatsapp,
        Channel::Email => SurveyChannel::Email,
        Channel::Web | Channel::Api | Channel::Phone => SurveyChannel::Portal,
    }
}

/// A resolve in a ticket's log: the cycle it ended and who replied in that cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedCycle {
    pub cycle: i64,
    /// Persons who wrote a public reply in the cycle, by id.
    pub agent_ids: Vec<UserId>,
}

/// The cycle that the `status_changed` at `seq` ended, when that event moved the ticket from
/// an open category into `resolved` (a close, or a resolve of a resolved ticket, is no new
/// resolution). Cycle 1 starts at creation, each reopen (done → not done) starts the next.
pub fn resolved_cycle(events: &[TicketEvent], seq: i64) -> Option<ResolvedCycle> {
    let mut cycle = 1;
    let mut done = false;
    let mut agents = BTreeSet::new();
    for event in events.iter().take_while(|event| event.seq <= seq) {
        match &event.kind {
            EventKind::StatusChanged { category, .. } => {
                if event.seq == seq {
                    return (*category == StatusCategory::Resolved && !done)
                        .then(|| ResolvedCycle { cycle, agent_ids: agents.iter().copied().collect() });
                }
                if done && !category.is_done() {
                    cycle += 1;
                    agents.clear();
                }
                done = category.is_done();
            }
            EventKind::MessageAdded { message, .. } if message.kind == MessageKind::Reply => {
                agents.extend(message.author_id);
            }
            _ => {}
        }
    }
    None
}

/// The id a WhatsApp list row, reply button or template quick-reply carries for one answer.
pub fn answer_id(survey: i64, score: i64) -> String {
    format!("csat:{survey}:{score}")
}

/// The survey and score an answer id names (`csat:<survey>:<score>`).
pub fn parse_answer_id(id: &str) -> Option<(i64, i64)> {
    let (survey, score) = id.strip_prefix("csat:")?.split_once(':')?;
    Some((survey.parse().ok()?, score.parse().ok()?))
}

/// The answer id an inbound WhatsApp message's payload carries: an interactive list or button
/// reply's `id`, or a template quick-reply's `payload`.
pub fn answer_in_payload(payload: &serde_json::Value) -> Option<(i64, i64)> {
    let id = payload["interactive"]["list_reply"]["id"]
        .as_str()
        .or_else(|| payload["interactive"]["button_reply"]["id"].as_str())
        .or_else(|| payload["button"]["payload"].as_str())?;
    parse_answer_id(id)
}

/// A message taken as a comment, cut to [`MAX_COMMENT_CHARS`].
pub fn fit_comment(text: &str) -> String {
    text.trim().chars().take(MAX_COMMENT_CHARS).collect()
}

/// Whether a message is a survey the hub sent (its payload says so): not an agent's reply to
/// the automation rules.
pub fn is_survey_message(message: &Message) -> bool {
    message.payload.as_ref().is_some_and(|payload| payload.get("csat_survey").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, kind: EventKind) -> TicketEvent {
        TicketEvent { ticket_id: 1, account_id: 1, seq, at: Timestamp::UNIX_EPOCH, actor_id: None, kind }
    }

    fn status(seq: i64, to: &str, category: StatusCategory) -> TicketEvent {
        event(seq, EventKind::StatusChanged { from: String::new(), to: to.to_owned(), category })
    }

    fn reply(seq: i64, author: UserId) -> TicketEvent {
        let message = Message {
            id: format!("m{seq}"),
            ticket_id: 1,
            account_id: 1,
            seq,
            kind: MessageKind::Reply,
            author_id: Some(author),
            channel: Channel::Email,
            body: "hi".to_owned(),
            attachments: Vec::new(),
            delivery_status: None,
            provider_id: None,
            delivery_error: None,
            payload: None,
            created_at: Timestamp::UNIX_EPOCH,
        };
        event(seq, EventKind::MessageAdded { message, window_until: None })
    }

    #[test]
    fn each_resolve_after_a_reopen_is_a_new_cycle_crediting_its_own_repliers() {
        let log = vec![
            reply(1, 7),
            reply(2, 8),
            status(3, "resolved", StatusCategory::Resolved),
            status(4, "closed", StatusCategory::Closed),
            status(5, "open", StatusCategory::Open),
            reply(6, 9),
            status(7, "resolved", StatusCategory::Resolved),
        ];
        assert_eq!(resolved_cycle(&log, 3), Some(ResolvedCycle { cycle: 1, agent_ids: vec![7, 8] }));
        assert_eq!(resolved_cycle(&log, 4), None, "a close of a resolved ticket is no new resolution");
        assert_eq!(resolved_cycle(&log, 5), None);
        assert_eq!(resolved_cycle(&log, 7), Some(ResolvedCycle { cycle: 2, agent_ids: vec![9] }));
        assert_eq!(resolved_cycle(&log, 1), None, "not a status change");
    }

    fn rating(score: i64) -> EventKind {
        EventKind::CsatReceived(RatingReceived {
            survey_id: 1,
            cycle: 1,
            score,
            scale: Scale::Five,
            channel: SurveyChannel::Portal,
            agent_ids: vec![7],
        })
    }

    #[test]
    fn only_a_low_rating_raises_the_event_and_the_survey_is_no_agent_reply() {
        use crate::automation::TriggerEvent;
        use crate::automation::engine::triggers_of;
        assert!(triggers_of(&[event(1, rating(2))]).contains(&TriggerEvent::CsatReceived));
        assert!(triggers_of(&[event(1, rating(3))]).is_empty());
        let mut survey = reply(2, 7);
        if let EventKind::MessageAdded { message, .. } = &mut survey.kind {
            message.author_id = None;
            message.payload = Some(serde_json::json!({"csat_survey": 1}));
        }
        assert!(triggers_of(&[survey]).is_empty(), "the hub asking is not `agent_replied`");
        assert!(triggers_of(&[reply(3, 7)]).contains(&TriggerEvent::AgentReplied));
    }

    #[test]
    fn customers_see_that_a_survey_was_asked_and_nothing_else() {
        let config = AccountConfig::default();
        let asked = EventKind::CsatRequested(SurveyAsked {
            survey_id: 4,
            cycle: 1,
            channel: SurveyChannel::Portal,
            scale: Scale::Five,
        });
        let seen = crate::visibility::customer_event(&event(5, asked), &config);
        assert_eq!(seen["type"], "csat_requested");
        assert_eq!(seen["seq"], 5);
        assert!(seen.get("survey_id").is_none(), "{seen}");
        let comment = EventKind::CsatCommented(RatingComment { survey_id: 4, comment: "ok".to_owned() });
        for kind in [rating(5), comment] {
            let seen = crate::visibility::customer_event(&event(6, kind), &config);
            assert_eq!((seen["type"].as_str(), seen.get("score"), seen.get("comment")), (Some("private"), None, None));
        }
    }

    #[test]
    fn answer_ids_round_trip_and_strangers_are_not_answers() {
        assert_eq!(parse_answer_id(&answer_id(42, 5)), Some((42, 5)));
        assert_eq!(parse_answer_id("csat:42"), None);
        assert_eq!(parse_answer_id("topic_refunds"), None);
        let list =
            serde_json::json!({"interactive": {"type": "list_reply", "list_reply": {"id": "csat:3:4", "title": "4"}}});
        let template = serde_json::json!({"button": {"payload": "csat:3:1", "text": "👎"}});
        assert_eq!(answer_in_payload(&list), Some((3, 4)));
        assert_eq!(answer_in_payload(&template), Some((3, 1)));
        assert_eq!(answer_in_payload(&serde_json::json!({"text": {"body": "5"}})), None);
    }

    #[test]
    fn scales_accept_their_own_scores_and_settings_are_checked() {
        assert!(Scale::Five.accepts(3) && !Scale::Five.accepts(0) && !Scale::Five.accepts(6));
        assert!(Scale::Thumbs.accepts(1) && Scale::Thumbs.accepts(5) && !Scale::Thumbs.accepts(3));
        let settings =
            CsatSettings { channels: vec![SurveyChannel::Email, SurveyChannel::Email], ..CsatSettings::default() };
        assert_eq!(settings.normalised().map(|s| s.channels), Ok(vec![SurveyChannel::Email]));
        let wrong = CsatSettings { cooldown_days: -1, ..CsatSettings::default() }.normalised();
        assert_eq!(wrong.map_err(|error| error.field), Err("cooldown_days"));
        let empty = CsatSettings { enabled: true, channels: vec![], ..CsatSettings::default() }.normalised();
        assert_eq!(empty.map_err(|error| error.field), Err("channels"));
        let blank = CsatSettings { question: "  ".to_owned(), ..CsatSettings::default() }.normalised();
        assert_eq!(blank.map_err(|error| error.field), Err("question"));
    }
}
