//! What an inbound WhatsApp message does to its conversation, as pure rules: the ticket it goes
//! to (the current one, the current one reopened, or a new one), the 24-hour window and its
//! timers, the customer's identifiers, opt-out keywords and ad attribution. The actor reads what
//! these rules need (the stored conversation, the current ticket from its actor), calls
//! [`decide`] and performs the [`InboundDecision`]; nothing here does I/O, so every branch is
//! tested without a runtime (as `ticket/state.rs` is for tickets).

use jiff::{SignedDuration, Timestamp};

use super::{ChannelSettings, WINDOW_CLOSED, WINDOW_CLOSING};
use crate::domain::{AccountId, StatusCategory, Ticket, TicketId, UserId, WindowState};
use crate::whatsapp::{Conversation, InboundMessage, WhatsAppUser, window};

/// The longest subject a ticket opened by a WhatsApp message takes from its first line, in
/// characters (a chat message has no subject; its opening words stand in for one).
pub const SUBJECT_CHARS: usize = 80;

/// The conversation's current ticket as its actor reported it: all the rules need to tell
/// whether a new message still belongs to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurrentTicket {
    pub id: TicketId,
    pub status_category: StatusCategory,
    pub resolved_at: Option<Timestamp>,
}

impl From<&Ticket> for CurrentTicket {
    fn from(ticket: &Ticket) -> CurrentTicket {
        CurrentTicket { id: ticket.id, status_category: ticket.status_category, resolved_at: ticket.resolved_at }
    }
}

/// What the rules know about a conversation before the message.
#[derive(Clone, Debug)]
pub struct ConversationFacts<'a> {
    /// The stored conversation, or [`fresh_conversation`] on first contact.
    pub conversation: &'a Conversation,
    /// Its current ticket; `None` when it has none or the ticket is gone.
    pub current: Option<CurrentTicket>,
    /// The window end the stored timers point at (`None`: this actor has written none yet).
    pub timers_for: Option<Timestamp>,
    /// The customer's name, for the subject of a ticket opened by a message without text.
    pub customer_name: &'a str,
}

/// Which ticket an inbound message goes to.
#[derive(Clone, Debug, PartialEq)]
pub enum TicketChoice {
    /// The current ticket is still being worked on (new, open or pending): add the message.
    Append(TicketId),
    /// The current ticket was resolved within `reopen_within`: add the message, which reopens it
    /// (the TicketActor's rule for a customer writing again).
    Reopen(TicketId),
    /// No ticket to add to (first contact, closed, resolved too long ago, gone): open one.
    Open { subject: String },
}

/// What the message's text said about marketing opt-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptOut {
    /// Not a keyword: the flag stays as it was.
    Unchanged,
    /// A stop keyword: opted out.
    Stop,
    /// A start keyword: opted back in.
    Start,
}

/// The 24-hour window around the message.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowChange {
    /// The window at `now` before the message.
    pub before: WindowState,
    /// The window at `now` after it.
    pub after: WindowState,
    /// The window end to write the "closing" and "closed" timers for, with the conversation
    /// save: set when the message renews the window and this actor has not written timers yet or
    /// the window was closed. A renewal of an open window only moves the end in memory; the
    /// firing timer follows it (see `ConversationState::timer`).
    pub timers_until: Option<Timestamp>,
}

/// What an inbound message does, for the actor to perform.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundDecision {
    /// The conversation after the message: identifiers, opt-out, referral, window, `updated_at`,
    /// and the current ticket when it is an existing one (a new ticket's id is known only once
    /// the store created it; the actor sets it then).
    pub conversation: Conversation,
    pub opt_out: OptOut,
    pub window: WindowChange,
    pub ticket: TicketChoice,
}

impl InboundDecision {
    /// Whether the message opens a ticket.
    pub fn new_ticket(&self) -> bool {
        matches!(self.ticket, TicketChoice::Open { .. })
    }

    /// The window to record on an existing ticket as an event of its own (`window_changed`):
    /// only when the message opens it again (none, or closed, before). Renewing an open or
    /// closing window rides on the message itself ([`Self::window_until`] on `message_added`),
    /// so a known customer's message is one event and one commit. A new ticket records the
    /// window in its first commit instead (`TicketDraft::window`).
    pub fn window_to_record(&self) -> Option<&WindowState> {
        let was_open = matches!(self.window.before, WindowState::Open { .. } | WindowState::Closing { .. });
        (self.window.before != self.window.after && !was_open && !self.new_ticket()).then_some(&self.window.after)
    }

    /// When the window closes after this message, carried on its `message_added` event (`None`
    /// when the message leaves no open window, which an inbound message always does).
    pub fn window_until(&self) -> Option<Timestamp> {
        match self.window.after {
            WindowState::Open { until } | WindowState::Closing { until } => Some(until),
            WindowState::Closed => None,
        }
    }

    /// The timers to write with the conversation save (see [`WindowChange::timers_until`]).
    pub fn timers(&self, closing_lead: SignedDuration) -> Vec<(&'static str, Timestamp)> {
        self.window.timers_until.map(|until| window_timers(until, closing_lead)).unwrap_or_default()
    }
}

/// Decides what `message` does to the conversation described by `facts`, at `now`.
pub fn decide(
    facts: &ConversationFacts<'_>,
    message: &InboundMessage,
    settings: &ChannelSettings,
    now: Timestamp,
) -> InboundDecision {
    let mut conversation = facts.conversation.clone();
    if let Some(changed) = &message.identity_change
        && let Some(key) = changed.key()
    {
        conversation.user_key = key.to_owned();
        if changed.wa_id.is_some() {
            conversation.wa_id = changed.wa_id.clone();
        }
    }
    if message.from.wa_id.is_some() && message.identity_change.is_none() {
        conversation.wa_id = message.from.wa_id.clone();
    }
    let opt_out = opt_out_keyword(&message.body, settings);
    match opt_out {
        OptOut::Stop => conversation.opted_out = true,
        OptOut::Start => conversation.opted_out = false,
        OptOut::Unchanged => {}
    }
    if conversation.referral.is_none() && message.payload.get("referral").is_some() {
        conversation.referral = message.payload.get("referral").cloned();
    }

    let before = window::state(conversation.window_expires_at, now, settings.closing_lead);
    if message.renews_window {
        conversation.window_expires_at = Some(window::renew(conversation.window_expires_at, message.timestamp));
        conversation.last_inbound_at =
            Some(conversation.last_inbound_at.map_or(message.timestamp, |at| at.max(message.timestamp)));
    }
    let after = window::state(conversation.window_expires_at, now, settings.closing_lead);
    // No timers for a window that is already over (a message re-delivered a day late): they
    // would fire at once and announce a close the ticket already records.
    let timers_until = conversation.window_expires_at.filter(|_| {
        message.renews_window
            && after != WindowState::Closed
            && (facts.timers_for.is_none() || before == WindowState::Closed)
    });

    let ticket = choose_ticket(facts.current, &message.body, facts.customer_name, settings.reopen_within, now);
    if let TicketChoice::Append(id) | TicketChoice::Reopen(id) = ticket {
        conversation.current_ticket_id = Some(id);
    }
    conversation.updated_at = now;
    InboundDecision { conversation, opt_out, window: WindowChange { before, after, timers_until }, ticket }
}

/// The ticket a message goes to: the current one unless closed, or resolved more than
/// `reopen_within` ago (or at an unknown time); otherwise a new one.
pub fn choose_ticket(
    current: Option<CurrentTicket>,
    body: &str,
    customer_name: &str,
    reopen_within: SignedDuration,
    now: Timestamp,
) -> TicketChoice {
    match current {
        Some(ticket) => match ticket.status_category {
            StatusCategory::Closed => TicketChoice::Open { subject: subject(body, customer_name) },
            StatusCategory::Resolved => {
                if ticket.resolved_at.is_some_and(|at| now.duration_since(at) <= reopen_within) {
                    TicketChoice::Reopen(ticket.id)
                } else {
                    TicketChoice::Open { subject: subject(body, customer_name) }
                }
            }
            _ => TicketChoice::Append(ticket.id),
        },
        None => TicketChoice::Open { subject: subject(body, customer_name) },
    }
}

/// A new ticket's subject: the message's first line, cut to [`SUBJECT_CHARS`]; a message without
/// text (media, a location) is named after the customer.
pub fn subject(body: &str, customer_name: &str) -> String {
    let subject: String = body.lines().next().unwrap_or_default().chars().take(SUBJECT_CHARS).collect();
    if subject.trim().is_empty() { format!("WhatsApp from {customer_name}") } else { subject }
}

/// Whether the whole message (trimmed, case-insensitive) is a stop or a start keyword; stop wins
/// when a word is configured as both.
pub fn opt_out_keyword(body: &str, settings: &ChannelSettings) -> OptOut {
    let keyword = body.trim().to_uppercase();
    if settings.stop_keywords.iter().any(|stop| stop.to_uppercase() == keyword) {
        OptOut::Stop
    } else if settings.start_keywords.iter().any(|start| start.to_uppercase() == keyword) {
        OptOut::Start
    } else {
        OptOut::Unchanged
    }
}

/// The new address a `system` message moved the customer to, to record as their contact.
pub fn new_contact(message: &InboundMessage) -> Option<&str> {
    message.identity_change.as_ref().and_then(WhatsAppUser::key)
}

/// For a message stored before (re-delivered by Meta, or reprocessed after a crash): the ticket
/// to link the conversation to, when it has lost its link (a crash between the message's commit
/// and the conversation's save). A conversation that moved on to another ticket keeps it.
pub fn relink_duplicate(current_ticket_id: Option<TicketId>, stored_on: TicketId) -> Option<TicketId> {
    current_ticket_id.is_none().then_some(stored_on)
}

/// The two timers of a window open until `until`: "closing" `closing_lead` before, "closed" at it.
pub fn window_timers(until: Timestamp, closing_lead: SignedDuration) -> Vec<(&'static str, Timestamp)> {
    let closing = until.saturating_sub(closing_lead).unwrap_or(until);
    vec![(WINDOW_CLOSING, closing), (WINDOW_CLOSED, until)]
}

/// The conversation a first message from `from` starts (not stored yet: id 0, window never
/// opened, no ticket).
pub fn fresh_conversation(
    account_id: AccountId,
    phone_number_id: &str,
    customer_id: UserId,
    from: &WhatsAppUser,
    now: Timestamp,
) -> Conversation {
    Conversation {
        id: 0,
        account_id,
        phone_number_id: phone_number_id.to_owned(),
        customer_id,
        wa_id: from.wa_id.clone(),
        user_key: from.key().unwrap_or_default().to_owned(),
        window_expires_at: None,
        last_inbound_at: None,
        current_ticket_id: None,
        opted_out: false,
        referral: None,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn settings() -> ChannelSettings {
        ChannelSettings {
            account_id: 1,
            numbers: vec!["100".to_owned()],
            reopen_within: SignedDuration::from_hours(72),
            closing_lead: SignedDuration::from_hours(1),
            stop_keywords: vec!["STOP".to_owned(), "unsubscribe".to_owned()],
            start_keywords: vec!["Start".to_owned()],
            send_retry: crate::retry::RetryPolicy::whatsapp(5),
            idle_timeout: Duration::from_secs(600),
        }
    }

    fn customer() -> WhatsAppUser {
        WhatsAppUser { wa_id: Some("16505551234".to_owned()), user_id: None, name: Some("Ana".to_owned()) }
    }

    /// A text message sent at `sent_at` (it renews the window).
    fn text(body: &str, sent_at: Timestamp) -> InboundMessage {
        InboundMessage {
            phone_number_id: "100".to_owned(),
            wamid: "wamid.1".to_owned(),
            from: customer(),
            timestamp: sent_at,
            kind: "text".to_owned(),
            body: body.to_owned(),
            payload: json!({"text": {"body": body}}),
            media: None,
            renews_window: true,
            identity_change: None,
        }
    }

    /// A reaction: stored on the ticket, but it does not renew the window.
    fn reaction(sent_at: Timestamp) -> InboundMessage {
        InboundMessage {
            kind: "reaction".to_owned(),
            body: "👍".to_owned(),
            payload: json!({"reaction": {"message_id": "wamid.0", "emoji": "👍"}}),
            renews_window: false,
            ..text("", sent_at)
        }
    }

    fn fresh(now: Timestamp) -> Conversation {
        fresh_conversation(1, "100", 9, &customer(), now)
    }

    /// A stored conversation whose window ends at `window_until` and whose current ticket is 5.
    fn stored(window_until: Option<Timestamp>) -> Conversation {
        Conversation {
            id: 3,
            window_expires_at: window_until,
            last_inbound_at: window_until.and_then(|until| until.checked_sub(window::WINDOW).ok()),
            current_ticket_id: Some(5),
            ..fresh(at(-100))
        }
    }

    fn ticket(status_category: StatusCategory, resolved_at: Option<Timestamp>) -> Option<CurrentTicket> {
        Some(CurrentTicket { id: 5, status_category, resolved_at })
    }

    fn decide_at(
        conversation: &Conversation,
        current: Option<CurrentTicket>,
        timers_for: Option<Timestamp>,
        message: &InboundMessage,
        now: Timestamp,
    ) -> InboundDecision {
        let facts = ConversationFacts { conversation, current, timers_for, customer_name: "Ana" };
        decide(&facts, message, &settings(), now)
    }

    #[test]
    fn first_contact_opens_a_ticket_and_the_window_with_its_timers() {
        let conversation = fresh(at(0));
        assert_eq!(conversation.user_key, "16505551234");
        assert_eq!(conversation.wa_id.as_deref(), Some("16505551234"));
        let decision = decide_at(&conversation, None, None, &text("Hello\nmy order is late", at(0)), at(0));
        assert_eq!(decision.ticket, TicketChoice::Open { subject: "Hello".to_owned() });
        assert!(decision.new_ticket());
        assert_eq!(decision.window.before, WindowState::Closed);
        assert_eq!(decision.window.after, WindowState::Open { until: at(24) });
        assert_eq!(decision.window.timers_until, Some(at(24)));
        assert_eq!(
            decision.timers(SignedDuration::from_hours(1)),
            vec![(WINDOW_CLOSING, at(23)), (WINDOW_CLOSED, at(24))]
        );
        // The new ticket records the window in its first commit, not in a second one.
        assert_eq!(decision.window_to_record(), None);
        assert_eq!(decision.conversation.window_expires_at, Some(at(24)));
        assert_eq!(decision.conversation.last_inbound_at, Some(at(0)));
        assert_eq!(decision.conversation.current_ticket_id, None, "set by the actor once the ticket exists");
        assert_eq!(decision.conversation.updated_at, at(0));
        assert_eq!(decision.opt_out, OptOut::Unchanged);
        assert!(!decision.conversation.opted_out);
    }

    #[test]
    fn a_new_tickets_subject_is_the_first_line_cut_or_the_customers_name() {
        assert_eq!(subject("Where is my parcel?\nOrder 12", "Ana"), "Where is my parcel?");
        let long = "é".repeat(SUBJECT_CHARS + 20);
        assert_eq!(subject(&long, "Ana"), "é".repeat(SUBJECT_CHARS));
        assert_eq!(subject("", "Ana"), "WhatsApp from Ana");
        assert_eq!(subject("   \nsecond line", "Ana"), "WhatsApp from Ana");
        let photo = InboundMessage { body: String::new(), ..text("", at(0)) };
        let decision = decide_at(&fresh(at(0)), None, None, &photo, at(0));
        assert_eq!(decision.ticket, TicketChoice::Open { subject: "WhatsApp from Ana".to_owned() });
    }

    #[test]
    fn the_window_renews_from_the_messages_own_time_and_never_shortens() {
        // Sent at hour 10, processed at hour 12 (a late re-delivery or an inbox pass).
        let decision = decide_at(
            &stored(Some(at(20))),
            ticket(StatusCategory::Open, None),
            Some(at(20)),
            &text("hi", at(10)),
            at(12),
        );
        assert_eq!(decision.conversation.window_expires_at, Some(at(34)), "24 h from the message, not from now");
        assert_eq!(decision.conversation.last_inbound_at, Some(at(10)));
        assert_eq!(decision.window.before, WindowState::Open { until: at(20) });
        assert_eq!(decision.window.after, WindowState::Open { until: at(34) });
        // The window moved: the new end rides on the message, with no event of its own.
        assert_eq!(decision.window_to_record(), None, "a renewal is not a window_changed event");
        assert_eq!(decision.window_until(), Some(at(34)));
        // An open window with its timers written: the end moves in memory only.
        assert_eq!(decision.window.timers_until, None);
        assert!(decision.timers(SignedDuration::from_hours(1)).is_empty());

        // An older message arriving late changes neither the window nor the last inbound time.
        let renewed = decision.conversation;
        let late =
            decide_at(&renewed, ticket(StatusCategory::Open, None), Some(at(20)), &text("earlier", at(2)), at(13));
        assert_eq!(late.conversation.window_expires_at, Some(at(34)));
        assert_eq!(late.conversation.last_inbound_at, Some(at(10)));
        assert_eq!(late.window.before, late.window.after);
        assert_eq!(late.window_to_record(), None, "an unchanged window is not recorded again");
    }

    #[test]
    fn window_timers_are_written_when_none_are_set_or_the_window_reopens() {
        let open = ticket(StatusCategory::Open, None);
        // This actor has not written timers yet (e.g. started from the store).
        let first = decide_at(&stored(Some(at(20))), open, None, &text("hi", at(10)), at(10));
        assert_eq!(first.window.timers_until, Some(at(34)));
        // The window had closed: it reopens, with new timers even though old ones were written.
        let reopened = decide_at(&stored(Some(at(20))), open, Some(at(20)), &text("back", at(30)), at(30));
        assert_eq!(reopened.window.before, WindowState::Closed);
        assert_eq!(reopened.window.after, WindowState::Open { until: at(54) });
        assert_eq!(reopened.window.timers_until, Some(at(54)));
        assert_eq!(reopened.window_to_record(), Some(&WindowState::Open { until: at(54) }));
        // Closing (within the lead) counts as open: no new timers.
        let closing = decide_at(&stored(Some(at(20))), open, Some(at(20)), &text("hi", at(19)), at(19));
        assert_eq!(closing.window.before, WindowState::Closing { until: at(20) });
        assert_eq!(closing.window.timers_until, None);
        assert_eq!(closing.window_to_record(), None, "a closing window renewed is still open: no event");
        // A first message re-delivered a day late leaves the window closed: no timers to fire.
        let stale = decide_at(&stored(None), open, None, &text("old", at(0)), at(30));
        assert_eq!(stale.window.after, WindowState::Closed);
        assert_eq!(stale.window.timers_until, None);
        assert_eq!(stale.window_until(), None);
        assert_eq!(closing.window_until(), Some(at(43)));
    }

    #[test]
    fn window_timers_announce_closing_a_lead_before_the_end() {
        assert_eq!(
            window_timers(at(24), SignedDuration::from_hours(1)),
            vec![(WINDOW_CLOSING, at(23)), (WINDOW_CLOSED, at(24))]
        );
        assert_eq!(
            window_timers(at(24), SignedDuration::ZERO),
            vec![(WINDOW_CLOSING, at(24)), (WINDOW_CLOSED, at(24))]
        );
    }

    #[test]
    fn a_reaction_is_stored_but_does_not_renew_the_window() {
        let decision =
            decide_at(&stored(Some(at(20))), ticket(StatusCategory::Open, None), None, &reaction(at(10)), at(10));
        assert_eq!(decision.ticket, TicketChoice::Append(5));
        assert_eq!(decision.conversation.window_expires_at, Some(at(20)));
        assert_eq!(decision.conversation.last_inbound_at, Some(at(-4)));
        assert_eq!(decision.window.before, decision.window.after);
        assert_eq!(decision.window.timers_until, None, "no timers without a renewal, even when none are set");
        assert_eq!(decision.window_to_record(), None);
        // On a closed window it opens nothing.
        let closed =
            decide_at(&stored(Some(at(2))), ticket(StatusCategory::Open, None), None, &reaction(at(10)), at(10));
        assert_eq!(closed.window.after, WindowState::Closed);
        assert_eq!(closed.window.timers_until, None);
        // A first contact by reaction still opens a ticket, with the window closed.
        let first = decide_at(&fresh(at(10)), None, None, &reaction(at(10)), at(10));
        assert!(first.new_ticket());
        assert_eq!(first.window.after, WindowState::Closed);
        assert_eq!(first.conversation.window_expires_at, None);
    }

    #[test]
    fn a_ticket_still_being_worked_on_takes_the_message() {
        for category in [StatusCategory::New, StatusCategory::Open, StatusCategory::Pending] {
            let decision =
                decide_at(&stored(Some(at(20))), ticket(category, None), Some(at(20)), &text("hi", at(10)), at(10));
            assert_eq!(decision.ticket, TicketChoice::Append(5), "{category:?}");
            assert!(!decision.new_ticket());
            assert_eq!(decision.conversation.current_ticket_id, Some(5));
            assert_eq!(decision.conversation.updated_at, at(10));
        }
    }

    #[test]
    fn a_resolved_ticket_reopens_only_within_reopen_within() {
        let within = settings().reopen_within;
        let resolved = at(0);
        let inside = resolved.checked_add(within).unwrap_or(resolved);
        let outside = inside.checked_add(SignedDuration::from_secs(1)).unwrap_or(inside);
        let current = ticket(StatusCategory::Resolved, Some(resolved));
        assert_eq!(choose_ticket(current, "hi", "Ana", within, at(1)), TicketChoice::Reopen(5));
        assert_eq!(
            choose_ticket(current, "hi", "Ana", within, inside),
            TicketChoice::Reopen(5),
            "the limit itself is inside"
        );
        assert_eq!(
            choose_ticket(current, "hi", "Ana", within, outside),
            TicketChoice::Open { subject: "hi".to_owned() }
        );
        // Resolved at an unknown time: never reopened.
        let unknown = ticket(StatusCategory::Resolved, None);
        assert_eq!(choose_ticket(unknown, "hi", "Ana", within, at(1)), TicketChoice::Open { subject: "hi".to_owned() });

        let reopened = decide_at(&stored(Some(at(20))), current, Some(at(20)), &text("again", at(10)), at(10));
        assert_eq!(reopened.ticket, TicketChoice::Reopen(5));
        assert!(!reopened.new_ticket());
        assert_eq!(reopened.conversation.current_ticket_id, Some(5));
        let later = decide_at(&stored(Some(at(20))), current, Some(at(20)), &text("again", outside), outside);
        assert_eq!(later.ticket, TicketChoice::Open { subject: "again".to_owned() });
        assert_eq!(later.conversation.current_ticket_id, Some(5), "replaced by the actor once the new ticket exists");
        // The new ticket records the window itself.
        assert_eq!(later.window_to_record(), None);
    }

    #[test]
    fn a_closed_ticket_never_reopens() {
        let within = settings().reopen_within;
        for resolved_at in [None, Some(at(10)), Some(at(11))] {
            let current = ticket(StatusCategory::Closed, resolved_at);
            assert_eq!(
                choose_ticket(current, "hi", "Ana", within, at(11)),
                TicketChoice::Open { subject: "hi".to_owned() },
                "{resolved_at:?}"
            );
        }
        // No current ticket (none yet, or gone): a new one.
        assert_eq!(
            choose_ticket(None, "", "Ana", within, at(0)),
            TicketChoice::Open { subject: "WhatsApp from Ana".to_owned() }
        );
    }

    #[test]
    fn stop_and_start_keywords_are_whole_messages_in_any_case() {
        let settings = settings();
        for body in ["STOP", "stop", " Stop \n", "UNSUBSCRIBE", "Unsubscribe"] {
            assert_eq!(opt_out_keyword(body, &settings), OptOut::Stop, "{body:?}");
        }
        for body in ["START", "start", "  sTaRt  "] {
            assert_eq!(opt_out_keyword(body, &settings), OptOut::Start, "{body:?}");
        }
        for body in ["stop it", "please stop", "", "started", "STOP!"] {
            assert_eq!(opt_out_keyword(body, &settings), OptOut::Unchanged, "{body:?}");
        }
        let both = ChannelSettings { start_keywords: vec!["stop".to_owned()], ..settings.clone() };
        assert_eq!(opt_out_keyword("Stop", &both), OptOut::Stop, "stop wins");

        let open = ticket(StatusCategory::Open, None);
        let stopped = decide_at(&stored(Some(at(20))), open, Some(at(20)), &text("stop", at(10)), at(10));
        assert_eq!(stopped.opt_out, OptOut::Stop);
        assert!(stopped.conversation.opted_out);
        // The keyword is a message like any other: stored on the ticket, renewing the window.
        assert_eq!(stopped.ticket, TicketChoice::Append(5));
        assert_eq!(stopped.conversation.window_expires_at, Some(at(34)));
        let other = decide_at(&stopped.conversation, open, Some(at(20)), &text("thanks", at(11)), at(11));
        assert!(other.conversation.opted_out, "another message leaves the flag as it is");
        let started = decide_at(&other.conversation, open, Some(at(20)), &text("START", at(12)), at(12));
        assert_eq!(started.opt_out, OptOut::Start);
        assert!(!started.conversation.opted_out);
    }

    #[test]
    fn identifiers_follow_the_sender_and_identity_changes() {
        let open = ticket(StatusCategory::Open, None);
        let conversation = Conversation { wa_id: None, user_key: "US.1".to_owned(), ..stored(Some(at(20))) };
        // A wa_id seen on a message is kept.
        let seen = decide_at(&conversation, open, Some(at(20)), &text("hi", at(10)), at(10));
        assert_eq!(seen.conversation.wa_id.as_deref(), Some("16505551234"));
        assert_eq!(seen.conversation.user_key, "US.1");
        assert_eq!(new_contact(&text("hi", at(10))), None);

        // A `system` message moving the customer to a new number and BSUID.
        let moved =
            WhatsAppUser { wa_id: Some("4915112345".to_owned()), user_id: Some("DE.77".to_owned()), name: None };
        let change = InboundMessage { identity_change: Some(moved), renews_window: false, ..text("changed", at(10)) };
        assert_eq!(new_contact(&change), Some("DE.77"));
        let decision = decide_at(&conversation, open, Some(at(20)), &change, at(10));
        assert_eq!(decision.conversation.user_key, "DE.77");
        assert_eq!(decision.conversation.wa_id.as_deref(), Some("4915112345"), "not the sender's old wa_id");

        // A change naming only a BSUID keeps the known wa_id.
        let bsuid_only = WhatsAppUser { wa_id: None, user_id: Some("DE.78".to_owned()), name: None };
        let change = InboundMessage { identity_change: Some(bsuid_only), ..text("changed", at(10)) };
        let known = Conversation { wa_id: Some("111".to_owned()), ..conversation.clone() };
        let decision = decide_at(&known, open, Some(at(20)), &change, at(10));
        assert_eq!(decision.conversation.user_key, "DE.78");
        assert_eq!(decision.conversation.wa_id.as_deref(), Some("111"));
    }

    #[test]
    fn the_first_ad_referral_is_kept() {
        let open = ticket(StatusCategory::Open, None);
        let from_ad =
            InboundMessage { payload: json!({"referral": {"source_id": "ad-1"}}), ..text("I saw your ad", at(10)) };
        let decision = decide_at(&stored(Some(at(20))), open, Some(at(20)), &from_ad, at(10));
        assert_eq!(decision.conversation.referral, Some(json!({"source_id": "ad-1"})));
        let second = InboundMessage { payload: json!({"referral": {"source_id": "ad-2"}}), ..from_ad };
        let again = decide_at(&decision.conversation, open, Some(at(20)), &second, at(11));
        assert_eq!(again.conversation.referral, Some(json!({"source_id": "ad-1"})));
        let plain = decide_at(&again.conversation, open, Some(at(20)), &text("hi", at(12)), at(12));
        assert_eq!(plain.conversation.referral, Some(json!({"source_id": "ad-1"})));
    }

    #[test]
    fn a_duplicate_relinks_only_a_conversation_without_a_ticket() {
        assert_eq!(relink_duplicate(None, 7), Some(7));
        assert_eq!(relink_duplicate(Some(7), 7), None);
        assert_eq!(relink_duplicate(Some(8), 7), None, "a conversation that moved on keeps its ticket");
    }
}
