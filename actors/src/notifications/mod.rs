//! Notifications as pure rules: which committed ticket event notifies whom ([`notifications_for`]),
//! how an `@mention` is written in a note and read back ([`mentions`]), a user's preferences
//! (kinds on or off, quiet hours, the email digest) and whether a notification alerts now
//! ([`Preferences::alerts`]). The server's notifier tails the event log and performs these.

use jiff::Timestamp;
use jiff::civil::Time;
use serde::{Deserialize, Serialize};

use crate::domain::*;

#[cfg(test)]
mod tests;

pub type NotificationId = i64;

string_enum!(
    /// Why a user is notified (`webhook_disabled`: an outbound webhook failed for 24 hours and
    /// was disabled; admins only, always on).
    NotificationKind {
        Assigned => "assigned",
        TeamAssigned => "team_assigned",
        Mention => "mention",
        Critical => "critical",
        SlaWarning => "sla_warning",
        SlaBreached => "sla_breached",
        CustomerReply => "customer_reply",
        Automation => "automation",
        WebhookDisabled => "webhook_disabled",
    }
);

/// A notification decided but not stored yet.
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    pub account_id: AccountId,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub ticket_id: TicketId,
    pub ticket_number: i64,
    pub subject: String,
    /// Who caused it; `None` for the system (SLA timers) and customers.
    pub actor_id: Option<UserId>,
    pub text: String,
    /// The ticket is critical × critical (urgency and importance): alerts even in quiet hours.
    pub critical: bool,
    /// The event log position of the event that caused it.
    pub position: i64,
}

/// A stored notification, as its user reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: NotificationId,
    #[serde(skip)]
    pub account_id: AccountId,
    #[serde(skip)]
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub ticket_id: TicketId,
    pub ticket_number: i64,
    pub subject: String,
    pub actor_id: Option<UserId>,
    pub text: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
    pub critical: bool,
}

/// Which kinds a user wants; every kind is on unless turned off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KindSwitches {
    #[serde(default = "on")]
    pub assigned: bool,
    #[serde(default = "on")]
    pub team_assigned: bool,
    #[serde(default = "on")]
    pub mention: bool,
    #[serde(default = "on")]
    pub critical: bool,
    #[serde(default = "on")]
    pub sla_warning: bool,
    #[serde(default = "on")]
    pub sla_breached: bool,
    #[serde(default = "on")]
    pub customer_reply: bool,
    #[serde(default = "on")]
    pub automation: bool,
}

fn on() -> bool {
    true
}

impl Default for KindSwitches {
    fn default() -> Self {
        KindSwitches {
            assigned: true,
            team_assigned: true,
            mention: true,
            critical: true,
            sla_warning: true,
            sla_breached: true,
            customer_reply: true,
            automation: true,
        }
    }
}

impl KindSwitches {
    pub fn wants(&self, kind: NotificationKind) -> bool {
        match kind {
            NotificationKind::Assigned => self.assigned,
            NotificationKind::TeamAssigned => self.team_assigned,
            NotificationKind::Mention => self.mention,
            NotificationKind::Critical => self.critical,
            NotificationKind::SlaWarning => self.sla_warning,
            NotificationKind::SlaBreached => self.sla_breached,
            NotificationKind::CustomerReply => self.customer_reply,
            NotificationKind::Automation => self.automation,
            NotificationKind::WebhookDisabled => true,
        }
    }
}

/// Local times of day (`"22:00"` to `"07:00"`, in the user's time zone) during which only
/// critical notifications alert; the others are still stored and listed. `to` before `from`
/// runs over midnight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, 24-hour.
    pub from: String,
    /// `HH:MM`, 24-hour; the quiet hours end at this minute.
    pub to: String,
}

/// Why quiet hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("`{0}` is not a time of day written HH:MM")]
    NotATime(String),
    #[error("`from` and `to` are the same time")]
    Empty,
}

fn time_of_day(text: &str) -> Result<Time, QuietHoursError> {
    let bad = || QuietHoursError::NotATime(text.to_owned());
    let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
    if hour.len() != 2 || minute.len() != 2 {
        return Err(bad());
    }
    let hour: i8 = hour.parse().map_err(|_| bad())?;
    let minute: i8 = minute.parse().map_err(|_| bad())?;
    Time::new(hour, minute, 0, 0).map_err(|_| bad())
}

impl QuietHours {
    /// Both ends as times of day; refuses malformed times and an empty range.
    pub fn bounds(&self) -> Result<(Time, Time), QuietHoursError> {
        let (from, to) = (time_of_day(&self.from)?, time_of_day(&self.to)?);
        if from == to {
            return Err(QuietHoursError::Empty);
        }
        Ok((from, to))
    }

    /// Whether `now` falls in the quiet hours in `zone` (a malformed range is never quiet).
    pub fn contains(&self, now: Timestamp, zone: &jiff::tz::TimeZone) -> bool {
        let Ok((from, to)) = self.bounds() else { return false };
        let local = now.to_zoned(zone.clone()).time();
        if from < to { from <= local && local < to } else { local >= from || local < to }
    }
}

string_enum!(
    /// How often unread notifications are mailed to their user.
    Digest { Off => "off", Hourly => "hourly", Daily => "daily" }
);

impl Digest {
    /// Time between two digests; `None` when off.
    pub fn period(self) -> Option<jiff::SignedDuration> {
        match self {
            Digest::Off => None,
            Digest::Hourly => Some(jiff::SignedDuration::from_hours(1)),
            Digest::Daily => Some(jiff::SignedDuration::from_hours(24)),
        }
    }
}

/// A user's notification preferences (`GET/PUT /api/v1/me/preferences`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    #[serde(default)]
    pub kinds: KindSwitches,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    #[serde(default = "digest_off")]
    pub digest: Digest,
}

fn digest_off() -> Digest {
    Digest::Off
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences { kinds: KindSwitches::default(), quiet_hours: None, digest: Digest::Off }
    }
}

impl Preferences {
    /// Whether a notification pops up (toast, sound, the browser's notification) now for a user
    /// in `zone`: always when critical, otherwise outside quiet hours.
    pub fn alerts(&self, critical: bool, now: Timestamp, zone: &jiff::tz::TimeZone) -> bool {
        critical || !self.quiet_hours.as_ref().is_some_and(|quiet| quiet.contains(now, zone))
    }
}

/// The staff of an account as the decision needs them: who exists (active staff only), their
/// names for the text, each team's members, and which teams the router hands out.
pub struct Staff<'a> {
    pub users: &'a [User],
    pub teams: &'a [Team],
    /// Teams whose tickets the router assigns: their members are not told of each ticket the
    /// team gets (the router assigns it within a second, and the assignee is told), which in a
    /// team of 500 would be 500 notifications for every new ticket.
    pub routed_teams: &'a [TeamId],
}

impl Staff<'_> {
    /// The team whose members hear of a ticket given to it (not a routed one).
    fn announced_team(&self, id: Option<TeamId>) -> Option<&Team> {
        let id = id.filter(|id| !self.routed_teams.contains(id))?;
        self.teams.iter().find(|team| team.id == id)
    }

    fn active(&self, id: UserId) -> Option<&User> {
        self.users.iter().find(|user| user.id == id && user.active && user.role.is_staff())
    }

    /// Whether `id` is one of the account's staff (active or not): what they write as the
    /// customer (a ticket opened on a customer's behalf) is not the customer writing.
    fn is_staff(&self, id: UserId) -> bool {
        self.users.iter().any(|user| user.id == id && user.role.is_staff())
    }

    fn name(&self, id: Option<UserId>) -> Option<&str> {
        id.and_then(|id| self.users.iter().find(|user| user.id == id)).map(|user| user.name.as_str())
    }
}

/// The users a note mentions, in order of first mention. A mention is written
/// `@[Name](user:ID)` (what the console's `@` autocomplete inserts), so it stays resolvable to
/// its user whatever the name becomes; whether the id is one of the account's staff is checked
/// by [`notifications_for`].
pub fn mentions(body: &str) -> Vec<UserId> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("@[") {
        rest = &rest[at + 2..];
        let Some(close) = rest.find("](user:") else { break };
        if rest[..close].contains(['[', ']', '\n']) {
            continue;
        }
        let after = &rest[close + "](user:".len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty()
            && after[digits.len()..].starts_with(')')
            && let Ok(id) = digits.parse::<UserId>()
            && !found.contains(&id)
        {
            found.push(id);
        }
    }
    found
}

/// A note's text with its mentions shown as `@Name`, shortened for a notification line.
pub fn excerpt(body: &str) -> String {
    const MAX_CHARS: usize = 140;
    let mut plain = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("@[") {
        plain.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let parsed = tail.find("](user:").and_then(|close| {
            let after = &tail[close + "](user:".len()..];
            let end = after.find(')')?;
            after[..end]
                .chars()
                .all(|c| c.is_ascii_digit())
                .then(|| (&tail[..close], close + "](user:".len() + end + 1))
        });
        match parsed {
            Some((name, used)) => {
                plain.push('@');
                plain.push_str(name);
                rest = &tail[used..];
            }
            None => {
                plain.push_str("@[");
                rest = tail;
            }
        }
    }
    plain.push_str(rest);
    let line = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MAX_CHARS {
        format!("{}…", line.chars().take(MAX_CHARS - 1).collect::<String>())
    } else {
        line
    }
}

/// Whether a ticket is critical × critical (seed 001: every agent is alerted).
pub fn is_critical(urgency: Level, importance: Level) -> bool {
    urgency == Level::Critical && importance == Level::Critical
}

/// The ticket as its `created` event left it, from the ticket read later (`now`) and the events
/// that followed creation (`later`, in seq order): a `created` event carries no assignee,
/// team, urgency or importance, so they come from the ticket, with what later events changed
/// undone. The first reassignment names the assignee and team at creation; levels changed
/// since are unknown (the event carries only the new ones) and count as not critical, so a
/// ticket is never announced critical twice (the change that made it critical notifies).
pub fn as_created(now: &Ticket, later: &[TicketEvent]) -> Ticket {
    let mut created = now.clone();
    if let Some((assignee, team)) = later.iter().find_map(|event| match &event.kind {
        EventKind::Assigned { from_assignee_id, from_team_id, .. } => Some((*from_assignee_id, *from_team_id)),
        _ => None,
    }) {
        created.assignee_id = assignee;
        created.team_id = team;
    }
    if later.iter().any(|event| matches!(event.kind, EventKind::PriorityChanged { .. })) {
        created.urgency = Level::Low;
        created.importance = Level::Low;
    }
    created
}

/// Who one committed event notifies, and of what. `ticket` is the ticket as the notifier reads
/// it (the event's own fields win where the event carries them: a `created` event carries no
/// assignee or urgency, so those come from `ticket`). Nobody is notified of their own action,
/// only active staff of the ticket's account are notified, and each user at most once per
/// event (the first reason in the order assigned, team, mention, critical, SLA, reply).
pub fn notifications_for(event: &LoggedEvent, ticket: &Ticket, staff: &Staff<'_>) -> Vec<NewNotification> {
    let actor = event.event.actor_id;
    let actor_name = staff.name(actor).unwrap_or("Someone");
    let number = ticket.number;
    let critical_now = is_critical(ticket.urgency, ticket.importance);
    let mut reasons: Vec<(UserId, NotificationKind, String, bool)> = Vec::new();
    let every_agent = |text: &str, reasons: &mut Vec<_>| {
        for user in staff.users.iter().filter(|user| user.active && user.role.is_staff()) {
            reasons.push((user.id, NotificationKind::Critical, text.to_owned(), true));
        }
    };
    match &event.event.kind {
        EventKind::Created { .. } => {
            if let Some(assignee) = ticket.assignee_id {
                let text = format!("{actor_name} assigned #{number} to you");
                reasons.push((assignee, NotificationKind::Assigned, text, critical_now));
            }
            if let Some(team) = staff.announced_team(ticket.team_id) {
                for member in &team.member_ids {
                    let text = format!("#{number} was assigned to your team {}", team.name);
                    reasons.push((*member, NotificationKind::TeamAssigned, text, critical_now));
                }
            }
            if critical_now {
                every_agent(&format!("#{number} is critical: urgency and importance are both critical"), &mut reasons);
            }
        }
        EventKind::Assigned { from_assignee_id, from_team_id, assignee_id, team_id, .. } => {
            if let Some(assignee) = assignee_id.filter(|id| Some(*id) != *from_assignee_id) {
                let text = format!("{actor_name} assigned #{number} to you");
                reasons.push((assignee, NotificationKind::Assigned, text, critical_now));
            }
            if let Some(team) = staff.announced_team(team_id.filter(|id| Some(*id) != *from_team_id)) {
                for member in &team.member_ids {
                    let text = format!("{actor_name} assigned #{number} to your team {}", team.name);
                    reasons.push((*member, NotificationKind::TeamAssigned, text, critical_now));
                }
            }
        }
        EventKind::MessageAdded { message, .. } => match message.kind {
            MessageKind::Note => {
                let text = format!("{actor_name} mentioned you on #{number}: {}", excerpt(&message.body));
                for user in mentions(&message.body) {
                    reasons.push((user, NotificationKind::Mention, text.clone(), critical_now));
                }
            }
            MessageKind::Customer if !actor.is_some_and(|id| staff.is_staff(id)) => {
                if let Some(assignee) = ticket.assignee_id {
                    let text = format!("The customer wrote on #{number}: {}", excerpt(&message.body));
                    reasons.push((assignee, NotificationKind::CustomerReply, text, critical_now));
                }
            }
            _ => {}
        },
        EventKind::PriorityChanged { urgency, importance, .. } if is_critical(*urgency, *importance) => {
            every_agent(&format!("#{number} is critical: urgency and importance are both critical"), &mut reasons);
        }
        EventKind::SlaWarning { metric, .. } => {
            if let Some(assignee) = ticket.assignee_id {
                let text = format!("The {} target of #{number} is due soon", metric_name(*metric));
                reasons.push((assignee, NotificationKind::SlaWarning, text, critical_now));
            }
        }
        EventKind::SlaBreached { metric, .. } => {
            if let Some(assignee) = ticket.assignee_id {
                let text = format!("The {} target of #{number} was missed", metric_name(*metric));
                reasons.push((assignee, NotificationKind::SlaBreached, text, critical_now));
            }
        }
        EventKind::AutomationRan { name, notify, .. } => {
            for notice in notify {
                let text = format!("#{number}: {} ({name})", notice.message);
                for user in automation_audience(&notice.target, ticket, staff) {
                    reasons.push((user, NotificationKind::Automation, text.clone(), critical_now));
                }
            }
        }
        _ => {}
    }
    let mut notified: Vec<UserId> = Vec::new();
    let mut out = Vec::new();
    for (user, kind, text, critical) in reasons {
        if Some(user) == actor || notified.contains(&user) || staff.active(user).is_none() {
            continue;
        }
        notified.push(user);
        out.push(NewNotification {
            account_id: ticket.account_id,
            user_id: user,
            kind,
            ticket_id: ticket.id,
            ticket_number: number,
            subject: ticket.subject.clone(),
            actor_id: actor,
            text,
            critical,
            position: event.position,
        });
    }
    out
}

/// Who an automation's `notify` reaches: the assignee, the ticket team's members, the
/// account's supervisors and admins, every agent (all active staff), or one user.
fn automation_audience(target: &crate::automation::NotifyTarget, ticket: &Ticket, staff: &Staff<'_>) -> Vec<UserId> {
    use crate::automation::{Audience, NotifyTarget};
    let active_staff = || staff.users.iter().filter(|user| user.active && user.role.is_staff());
    match target {
        NotifyTarget::User { user_id } => vec![*user_id],
        NotifyTarget::Audience(Audience::Assignee) => ticket.assignee_id.into_iter().collect(),
        NotifyTarget::Audience(Audience::Team) => ticket
            .team_id
            .and_then(|id| staff.teams.iter().find(|team| team.id == id))
            .map(|team| team.member_ids.clone())
            .unwrap_or_default(),
        NotifyTarget::Audience(Audience::Supervisors) => active_staff()
            .filter(|user| matches!(user.role, Role::Supervisor | Role::Admin))
            .map(|user| user.id)
            .collect(),
        NotifyTarget::Audience(Audience::AllAgents) => active_staff().map(|user| user.id).collect(),
    }
}

fn metric_name(metric: SlaMetric) -> &'static str {
    match metric {
        SlaMetric::FirstResponse => "first response",
        SlaMetric::Resolution => "resolution",
        SlaMetric::Window => "WhatsApp window reply",
    }
}

/// A stored notification on its way to its user's sockets, on this node and (relayed through
/// the broker) the others: `alert` says whether it pops up now (quiet hours), `unread` is the
/// user's unread count with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationPush {
    pub account_id: AccountId,
    pub user_id: UserId,
    pub notification: Notification,
    pub alert: bool,
    pub unread: i64,
}
