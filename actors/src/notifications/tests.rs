use jiff::Timestamp;

use super::*;

const ANA: UserId = 10;
const BEN: UserId = 11;
const CAT: UserId = 12;
const CUSTOMER: UserId = 30;
const GONE: UserId = 13;

fn user(id: UserId, name: &str, role: Role, active: bool) -> User {
    User {
        id,
        account_id: 1,
        email: format!("{}@desk.example", name.to_lowercase()),
        name: name.to_owned(),
        role,
        company_id: None,
        team_ids: Vec::new(),
        capacity: 10,
        skills: Vec::new(),
        languages: Vec::new(),
        time_zone: "UTC".to_owned(),
        phone: None,
        active,
        created_at: Timestamp::UNIX_EPOCH,
    }
}

fn users() -> Vec<User> {
    vec![
        user(ANA, "Ana", Role::Agent, true),
        user(BEN, "Ben", Role::Agent, true),
        user(CAT, "Cat", Role::Supervisor, true),
        user(GONE, "Gone", Role::Agent, false),
        user(CUSTOMER, "Customer", Role::Customer, true),
    ]
}

fn teams() -> Vec<Team> {
    vec![Team {
        id: 5,
        account_id: 1,
        name: "Billing".to_owned(),
        description: String::new(),
        member_ids: vec![ANA, BEN, GONE],
        created_at: Timestamp::UNIX_EPOCH,
    }]
}

fn ticket(assignee: Option<UserId>) -> Ticket {
    Ticket {
        id: 7,
        account_id: 1,
        number: 42,
        subject: "Printer on fire".to_owned(),
        status: "open".to_owned(),
        status_category: StatusCategory::Open,
        urgency: Level::Medium,
        importance: Level::Medium,
        priority: Priority::Medium,
        ticket_type: None,
        category_id: None,
        tags: Vec::new(),
        custom_fields: CustomFields::new(),
        channel: Channel::Email,
        requester_id: CUSTOMER,
        company_id: None,
        assignee_id: assignee,
        team_id: None,
        assigned_at: None,
        snoozed_until: None,
        seq: 3,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
        first_response_at: None,
        resolved_at: None,
        closed_at: None,
        last_customer_message_at: None,
        last_agent_message_at: None,
        last_customer_seq: 0,
        last_customer_channel: None,
        links: TicketLinks::default(),
        automations: Default::default(),
        sla: None,
        preview: None,
    }
}

fn logged(actor: Option<UserId>, kind: EventKind) -> LoggedEvent {
    LoggedEvent {
        position: 99,
        event: TicketEvent { ticket_id: 7, account_id: 1, seq: 3, at: Timestamp::UNIX_EPOCH, actor_id: actor, kind },
    }
}

fn message(kind: MessageKind, author: UserId, body: &str) -> EventKind {
    EventKind::MessageAdded {
        message: Message {
            id: "m1".to_owned(),
            ticket_id: 7,
            account_id: 1,
            seq: 3,
            kind,
            author_id: Some(author),
            channel: Channel::Email,
            body: body.to_owned(),
            attachments: Vec::new(),
            delivery_status: None,
            provider_id: None,
            delivery_error: None,
            payload: None,
            created_at: Timestamp::UNIX_EPOCH,
        },
        window_until: None,
    }
}

fn who(event: &LoggedEvent, ticket: &Ticket) -> Vec<(UserId, NotificationKind)> {
    let (users, teams) = (users(), teams());
    notifications_for(event, ticket, &Staff { users: &users, teams: &teams, routed_teams: &[] })
        .into_iter()
        .map(|notification| (notification.user_id, notification.kind))
        .collect()
}

fn assigned(from: Option<UserId>, to: Option<UserId>, team: Option<TeamId>) -> EventKind {
    EventKind::Assigned {
        from_assignee_id: from,
        from_team_id: None,
        assignee_id: to,
        team_id: team,
        reason: None,
        held_secs: None,
        explanation: None,
    }
}

#[test]
fn the_new_assignee_is_notified_but_never_of_their_own_action() {
    let by_ana = logged(Some(ANA), assigned(None, Some(BEN), None));
    assert_eq!(who(&by_ana, &ticket(Some(BEN))), [(BEN, NotificationKind::Assigned)]);
    let to_herself = logged(Some(ANA), assigned(None, Some(ANA), None));
    assert!(who(&to_herself, &ticket(Some(ANA))).is_empty());
    let unchanged = logged(Some(ANA), assigned(Some(BEN), Some(BEN), None));
    assert!(who(&unchanged, &ticket(Some(BEN))).is_empty(), "only a change notifies");
}

#[test]
fn a_team_assignment_notifies_its_active_members_once_each() {
    let event = logged(Some(CAT), assigned(None, Some(BEN), Some(5)));
    // Ben is told once (as the assignee); the inactive member is not told.
    assert_eq!(
        who(&event, &ticket(Some(BEN))),
        [(BEN, NotificationKind::Assigned), (ANA, NotificationKind::TeamAssigned)]
    );
    let by_ana = logged(Some(ANA), assigned(None, None, Some(5)));
    assert_eq!(who(&by_ana, &ticket(None)), [(BEN, NotificationKind::TeamAssigned)]);
}

#[test]
fn a_routed_team_members_are_not_told_of_each_ticket_only_the_assignee_is() {
    let (users, teams) = (users(), teams());
    let routed = Staff { users: &users, teams: &teams, routed_teams: &[5] };
    let kinds = |event: &LoggedEvent, ticket: &Ticket| -> Vec<(UserId, NotificationKind)> {
        notifications_for(event, ticket, &routed).into_iter().map(|n| (n.user_id, n.kind)).collect()
    };
    let mut new_ticket = ticket(None);
    new_ticket.team_id = Some(5);
    let created = logged(
        Some(CAT),
        EventKind::Created {
            subject: "Help".to_owned(),
            number: 42,
            status: "new".to_owned(),
            priority: Priority::Medium,
            channel: Channel::Email,
            requester_id: 30,
        },
    );
    assert!(kinds(&created, &new_ticket).is_empty(), "nobody hears of a routed team's new ticket");
    let by_router = logged(None, assigned(None, Some(BEN), Some(5)));
    assert_eq!(kinds(&by_router, &ticket(Some(BEN))), [(BEN, NotificationKind::Assigned)]);
    // The same ticket given to a team that is not routed tells its members.
    assert_eq!(
        who(&created, &new_ticket),
        [(ANA, NotificationKind::TeamAssigned), (BEN, NotificationKind::TeamAssigned)]
    );
}

#[test]
fn a_note_notifies_the_staff_it_mentions() {
    let body = "@[Ben](user:11) and @[Cat](user:12), see this. @[Ana](user:10) @[Ghost](user:99) @[Cust](user:30)";
    let event = logged(Some(ANA), message(MessageKind::Note, ANA, body));
    // Not the author, not unknown ids, not customers.
    assert_eq!(who(&event, &ticket(None)), [(BEN, NotificationKind::Mention), (CAT, NotificationKind::Mention)]);
    let (users, teams) = (users(), teams());
    let text =
        &notifications_for(&event, &ticket(None), &Staff { users: &users, teams: &teams, routed_teams: &[] })[0].text;
    assert!(text.starts_with("Ana mentioned you on #42: @Ben and @Cat, see this."), "{text}");
    let reply = logged(Some(ANA), message(MessageKind::Reply, ANA, "@[Ben](user:11)"));
    assert!(who(&reply, &ticket(None)).is_empty(), "only internal notes mention");
}

#[test]
fn mentions_are_read_only_in_their_written_form() {
    assert_eq!(mentions("@[Ben](user:11) @[Ben](user:11) @[Cat](user:12)"), [11, 12]);
    assert!(mentions("@Ben, mail ben@x.example, @[Ben](user:) @[Ben](user:1x) @[Be\nn](user:3)").is_empty());
    assert_eq!(mentions("[@[Ben](user:11)]"), [11]);
    assert_eq!(excerpt("Hi @[Ben Li](user:11)!\n\nTake   it"), "Hi @Ben Li! Take it");
    assert_eq!(excerpt(&"x".repeat(300)).chars().count(), 140);
}

#[test]
fn a_customer_message_notifies_the_assignee() {
    let event = logged(Some(CUSTOMER), message(MessageKind::Customer, CUSTOMER, "Still broken"));
    assert_eq!(who(&event, &ticket(Some(BEN))), [(BEN, NotificationKind::CustomerReply)]);
    assert!(who(&event, &ticket(None)).is_empty());
    let on_behalf = logged(Some(CAT), message(MessageKind::Customer, CAT, "Typed in from a call"));
    assert!(who(&on_behalf, &ticket(Some(BEN))).is_empty(), "staff writing for the customer is no customer reply");
}

#[test]
fn becoming_critical_by_critical_notifies_every_active_agent_but_the_actor() {
    let critical = EventKind::PriorityChanged {
        urgency: Level::Critical,
        importance: Level::Critical,
        from: Priority::High,
        to: Priority::Urgent,
    };
    let event = logged(Some(ANA), critical);
    let mut ticket = ticket(Some(BEN));
    ticket.urgency = Level::Critical;
    ticket.importance = Level::Critical;
    assert_eq!(who(&event, &ticket), [(BEN, NotificationKind::Critical), (CAT, NotificationKind::Critical)]);
    let (users, teams) = (users(), teams());
    assert!(
        notifications_for(&event, &ticket, &Staff { users: &users, teams: &teams, routed_teams: &[] })
            .iter()
            .all(|n| n.critical)
    );
    let half = EventKind::PriorityChanged {
        urgency: Level::Critical,
        importance: Level::High,
        from: Priority::High,
        to: Priority::Urgent,
    };
    assert!(who(&logged(Some(ANA), half), &ticket).is_empty());
}

#[test]
fn sla_alerts_go_to_the_assignee() {
    let warning =
        logged(None, EventKind::SlaWarning { metric: SlaMetric::FirstResponse, due_at: Timestamp::UNIX_EPOCH });
    assert_eq!(who(&warning, &ticket(Some(ANA))), [(ANA, NotificationKind::SlaWarning)]);
    let breach = logged(None, EventKind::SlaBreached { metric: SlaMetric::Resolution, due_at: Timestamp::UNIX_EPOCH });
    assert_eq!(who(&breach, &ticket(Some(ANA))), [(ANA, NotificationKind::SlaBreached)]);
    assert!(who(&breach, &ticket(None)).is_empty());
    assert!(who(&logged(None, EventKind::SnoozeEnded), &ticket(Some(ANA))).is_empty());
}

#[test]
fn quiet_hours_run_over_midnight_in_the_users_zone_and_critical_still_alerts() {
    let preferences = Preferences {
        quiet_hours: Some(QuietHours { from: "22:00".to_owned(), to: "07:00".to_owned() }),
        ..Preferences::default()
    };
    let madrid = jiff::tz::TimeZone::get("Europe/Madrid").expect("zone");
    // 21:30 UTC in December is 22:30 in Madrid: quiet; 06:30 UTC is 07:30: not quiet.
    let night: Timestamp = "2026-12-03T21:30:00Z".parse().expect("time");
    let morning: Timestamp = "2026-12-04T06:30:00Z".parse().expect("time");
    let early: Timestamp = "2026-12-04T05:59:00Z".parse().expect("time");
    assert!(!preferences.alerts(false, night, &madrid));
    assert!(preferences.alerts(true, night, &madrid));
    assert!(!preferences.alerts(false, early, &madrid));
    assert!(preferences.alerts(false, morning, &madrid));
    assert!(preferences.alerts(false, night, &jiff::tz::TimeZone::UTC), "21:30 in UTC is before 22:00");
    let daytime = QuietHours { from: "12:00".to_owned(), to: "13:00".to_owned() };
    assert!(daytime.contains("2026-12-03T12:59:00Z".parse().expect("time"), &jiff::tz::TimeZone::UTC));
    assert!(!daytime.contains("2026-12-03T13:00:00Z".parse().expect("time"), &jiff::tz::TimeZone::UTC));
}

#[test]
fn quiet_hours_must_be_two_different_times() {
    let hours = |from: &str, to: &str| QuietHours { from: from.to_owned(), to: to.to_owned() }.bounds();
    assert!(hours("22:00", "07:00").is_ok());
    assert_eq!(hours("22:00", "22:00"), Err(QuietHoursError::Empty));
    for bad in ["24:00", "7:00", "22:60", "noon", "22-00", ""] {
        assert!(matches!(hours(bad, "07:00"), Err(QuietHoursError::NotATime(_))), "{bad}");
    }
}

#[test]
fn kinds_default_on_and_switch_off_one_by_one() {
    let switches: KindSwitches = serde_json::from_str(r#"{"mention": false}"#).expect("json");
    assert!(!switches.wants(NotificationKind::Mention));
    assert!(
        NotificationKind::ALL
            .iter()
            .filter(|kind| **kind != NotificationKind::Mention)
            .all(|kind| switches.wants(*kind))
    );
    assert!(serde_json::from_str::<KindSwitches>(r#"{"mentions": false}"#).is_err());
}

#[test]
fn a_created_event_is_judged_by_the_ticket_as_it_was_created() {
    let mut now = ticket(Some(BEN));
    now.urgency = Level::Critical;
    now.importance = Level::Critical;
    let created = EventKind::Created {
        subject: "Printer on fire".to_owned(),
        number: 42,
        status: "new".to_owned(),
        priority: Priority::Urgent,
        channel: Channel::Email,
        requester_id: CUSTOMER,
    };
    let event = logged(Some(CAT), created);
    // Nothing happened since: assigned to Ben and critical from the start.
    let as_is = as_created(&now, &[]);
    assert_eq!(
        who(&event, &as_is),
        [(BEN, NotificationKind::Assigned), (ANA, NotificationKind::Critical)],
        "Cat created it: she is not told"
    );
    // Reassigned from Ana to Ben and made critical later: creation told Ana, not critical.
    let later = |kind| TicketEvent {
        ticket_id: 7,
        account_id: 1,
        seq: 4,
        at: Timestamp::UNIX_EPOCH,
        actor_id: Some(CAT),
        kind,
    };
    let then = as_created(
        &now,
        &[
            later(assigned(Some(ANA), Some(BEN), None)),
            later(EventKind::PriorityChanged {
                urgency: Level::Critical,
                importance: Level::Critical,
                from: Priority::Medium,
                to: Priority::Urgent,
            }),
        ],
    );
    assert_eq!(who(&event, &then), [(ANA, NotificationKind::Assigned)]);
}
