use jiff::{SignedDuration, Timestamp};

use super::language::detect;
use super::*;

fn member(id: UserId, presence: PresenceStatus, load: i64) -> Member {
    Member {
        user_id: id,
        name: format!("agent{id}"),
        presence,
        load,
        capacity: 3,
        skills: Vec::new(),
        languages: Vec::new(),
    }
}

fn routing(mode: RoutingMode) -> TeamRouting {
    TeamRouting { mode, ..TeamRouting::default() }
}

#[test]
fn least_loaded_picks_the_online_agent_with_room_holding_fewest() {
    let members = vec![
        member(1, PresenceStatus::Online, 2),
        member(2, PresenceStatus::Away, 0),
        member(3, PresenceStatus::Busy, 0),
        member(4, PresenceStatus::Online, 3),
        member(5, PresenceStatus::Online, 1),
        member(6, PresenceStatus::Offline, 0),
    ];
    let choice = choose(&routing(RoutingMode::LeastLoaded), &TicketNeeds::default(), &members, None, "new");
    assert_eq!(choice.assignee, Some(5));
    let explanation = choice.explanation;
    assert_eq!(explanation.eligible, 2);
    assert_eq!(explanation.candidates.iter().map(|c| (c.user_id, c.load)).collect::<Vec<_>>(), vec![(5, 1), (1, 2)]);
    assert_eq!(explanation.excluded.get("away"), Some(&1));
    assert_eq!(explanation.excluded.get("busy"), Some(&1));
    assert_eq!(explanation.excluded.get("offline"), Some(&1));
    assert_eq!(explanation.excluded.get("full"), Some(&1));
    assert!(explanation.why.contains("agent5 held 1 of 3"), "{}", explanation.why);
}

#[test]
fn capacity_is_ignored_only_when_the_team_says_so() {
    let members = vec![member(1, PresenceStatus::Online, 3)];
    let strict = choose(&routing(RoutingMode::LeastLoaded), &TicketNeeds::default(), &members, None, "new");
    assert_eq!(strict.assignee, None);
    assert!(strict.explanation.why.contains("left in the queue"));
    let lax = TeamRouting { respect_capacity: false, ..routing(RoutingMode::LeastLoaded) };
    assert_eq!(choose(&lax, &TicketNeeds::default(), &members, None, "new").assignee, Some(1));
}

#[test]
fn round_robin_takes_turns_after_the_last_one_served_and_wraps() {
    let members: Vec<Member> = [3, 1, 2].iter().map(|id| member(*id, PresenceStatus::Online, 0)).collect();
    let rr = routing(RoutingMode::RoundRobin);
    let needs = TicketNeeds::default();
    assert_eq!(choose(&rr, &needs, &members, None, "new").assignee, Some(1));
    assert_eq!(choose(&rr, &needs, &members, Some(1), "new").assignee, Some(2));
    assert_eq!(choose(&rr, &needs, &members, Some(2), "new").assignee, Some(3));
    let wrapped = choose(&rr, &needs, &members, Some(3), "new");
    assert_eq!(wrapped.assignee, Some(1));
    assert_eq!(wrapped.explanation.why, "round robin: agent1 was next in turn after agent3");
}

#[test]
fn skills_from_tags_and_language_narrow_the_candidates() {
    let team = TeamRouting {
        match_skills: true,
        match_language: true,
        skill_tags: [("billing".to_owned(), "finance".to_owned())].into(),
        ..routing(RoutingMode::LeastLoaded)
    };
    let mut speaker = member(1, PresenceStatus::Online, 2);
    speaker.languages = vec!["spa".into()];
    speaker.skills = vec!["finance".into()];
    let mut no_skill = member(2, PresenceStatus::Online, 0);
    no_skill.languages = vec!["spa".into()];
    let mut no_spanish = member(3, PresenceStatus::Online, 0);
    no_spanish.skills = vec!["finance".into()];
    let needs = TicketNeeds {
        skills: team.required_skills(&["Billing".into(), "vip".into()]),
        language: Some("spa".into()),
        not: None,
    };
    assert_eq!(needs.skills, vec!["finance".to_owned()]);
    let choice = choose(&team, &needs, &[speaker, no_skill, no_spanish], None, "new");
    assert_eq!(choice.assignee, Some(1));
    assert_eq!(choice.explanation.excluded.get("missing_skill"), Some(&1));
    assert_eq!(choice.explanation.excluded.get("language"), Some(&1));
    assert_eq!(choice.explanation.language.as_deref(), Some("spa"));
    let nobody = choose(&team, &needs, &[member(4, PresenceStatus::Online, 0)], None, "new");
    assert_eq!(
        nobody.explanation.why,
        "no online agent with room and the skills finance who writes Spanish: left in the queue"
    );
}

#[test]
fn the_current_assignee_is_not_a_candidate_for_its_own_reassignment() {
    let members = vec![member(1, PresenceStatus::Online, 0), member(2, PresenceStatus::Online, 2)];
    let needs = TicketNeeds { not: Some(1), ..TicketNeeds::default() };
    let choice = choose(&routing(RoutingMode::LeastLoaded), &needs, &members, None, "no_reply");
    assert_eq!(choice.assignee, Some(2));
    assert_eq!(choice.explanation.excluded.get("current_assignee"), Some(&1));
}

#[test]
fn settings_out_of_range_are_refused_and_names_normalised() {
    let bad_grace = TeamRouting { offline_grace_secs: -1, ..TeamRouting::default() };
    assert_eq!(bad_grace.validated().expect_err("refused").field, "offline_grace_secs");
    let bad_limit = TeamRouting { reassign_if_no_reply_minutes: Some(0), ..TeamRouting::default() };
    assert_eq!(bad_limit.validated().expect_err("refused").field, "reassign_if_no_reply_minutes");
    let empty_skill = TeamRouting { skill_tags: [("vip".to_owned(), " ".to_owned())].into(), ..TeamRouting::default() };
    assert_eq!(empty_skill.validated().expect_err("refused").field, "skill_tags");
    let fine = TeamRouting { skill_tags: [(" VIP ".to_owned(), "Care".to_owned())].into(), ..TeamRouting::default() };
    assert_eq!(fine.validated().expect("valid").skill_tags.get("vip").map(String::as_str), Some("care"));
}

fn ticket(id: TicketId, created_secs: i64) -> Ticket {
    serde_json::from_value(serde_json::json!({
        "id": id, "account_id": 1, "number": id, "subject": "s", "status": "new", "status_category": "new",
        "urgency": "low", "importance": "low", "priority": "low", "ticket_type": null, "category_id": null,
        "tags": [], "custom_fields": {}, "channel": "email", "requester_id": 9, "company_id": null,
        "assignee_id": null, "team_id": 1, "assigned_at": null, "snoozed_until": null, "seq": 1,
        "created_at": Timestamp::from_second(created_secs).expect("valid"), "updated_at": Timestamp::from_second(created_secs).expect("valid"),
        "first_response_at": null, "resolved_at": null, "closed_at": null,
        "last_customer_message_at": null, "last_agent_message_at": null
    }))
    .expect("valid")
}

#[test]
fn the_queue_is_served_sla_first_then_window_then_longest_waiting() {
    let oldest = ticket(1, 100);
    let newer = ticket(2, 200);
    let mut whatsapp = ticket(3, 300);
    whatsapp.channel = Channel::Whatsapp;
    whatsapp.last_customer_message_at = Some(Timestamp::from_second(300).expect("valid"));
    let mut sla_due = ticket(4, 400);
    let due = Timestamp::from_second(5_000).expect("valid");
    sla_due.sla = Some(crate::sla::SlaState {
        priority: Priority::Low,
        started_at: Timestamp::from_second(400).expect("valid"),
        warning_percent: 80,
        first_response: Some(crate::sla::SlaClock {
            target_minutes: 60,
            due_at: due,
            warn_at: due,
            met_at: None,
            warned_at: None,
            breached_at: None,
        }),
        resolution: None,
        window_minutes: None,
        window: None,
        paused_at: None,
        paused_ms: 0,
        business_hours: None,
    });
    assert_eq!(sla_due.sla_due_at(), Some(due));
    let mut queue = [newer, oldest, whatsapp, sla_due];
    queue.sort_by(queue_order);
    let order: Vec<TicketId> = queue.iter().map(|ticket| ticket.id).collect();
    assert_eq!(order, vec![4, 3, 1, 2]);
}

#[test]
fn no_reply_counts_from_the_assignment_and_a_reply_stops_it() {
    let team = TeamRouting { reassign_if_no_reply_minutes: Some(10), ..routing(RoutingMode::RoundRobin) };
    let mut held = ticket(1, 0);
    held.assignee_id = Some(5);
    held.assigned_at = Some(Timestamp::from_second(1_000).expect("valid"));
    let at = |secs: i64| Timestamp::from_second(secs).expect("valid");
    assert!(!team.no_reply_past_limit(&held, at(1_000 + 599)));
    assert!(team.no_reply_past_limit(&held, at(1_000 + 600)));
    held.last_agent_message_at = Some(at(1_100));
    assert!(!team.no_reply_past_limit(&held, at(5_000)));
    // A reply before this assignment was someone else's.
    held.last_agent_message_at = Some(at(900));
    assert!(team.no_reply_past_limit(&held, at(5_000)));
    assert!(team.offline_past_grace(at(0), at(0) + SignedDuration::from_secs(300)));
    assert!(!team.offline_past_grace(at(0), at(299)));
}

#[test]
fn languages_are_detected_from_customer_text_only_when_there_is_enough() {
    // A profile language wins over the text.
    let mut customer: User = serde_json::from_value(serde_json::json!({
        "id": 9, "account_id": 1, "email": "c@x", "name": "C", "role": "customer", "company_id": null,
        "team_ids": [], "capacity": 0, "time_zone": "UTC", "phone": null, "active": true,
        "created_at": Timestamp::UNIX_EPOCH
    }))
    .expect("valid");
    customer.languages = vec!["por".into()];
    assert_eq!(ticket_language(Some(&customer), &[], &[]).as_deref(), Some("por"));
    let known: Vec<String> = ["eng", "spa", "por"].iter().map(|code| (*code).to_owned()).collect();
    let detect = |text: &str| detect(text, &known);
    assert_eq!(detect("Hola, necesito ayuda con mi pedido, no ha llegado todavía").as_deref(), Some("spa"));
    assert_eq!(detect("Hello, my order has not arrived yet and I need help with it").as_deref(), Some("eng"));
    assert_eq!(detect("Olá, o meu pedido ainda não chegou, preciso de ajuda por favor").as_deref(), Some("por"));
    assert_eq!(detect("ok"), None);
    assert_eq!(detect("12345 !!!"), None);
    // Among every language the detector knows, when agents list none.
    assert_eq!(
        super::language::detect("Guten Tag, meine Bestellung ist noch nicht angekommen", &[]).as_deref(),
        Some("deu")
    );
    assert!(is_language_code("eng"));
    assert!(!is_language_code("english"));
}
