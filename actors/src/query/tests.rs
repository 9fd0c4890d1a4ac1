use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;

fn parsed(text: &str) -> Query {
    match parse(text) {
        Ok(query) => query,
        Err(error) => panic!("{text:?} did not parse: {error}"),
    }
}

fn failed(text: &str) -> QueryError {
    match parse(text) {
        Ok(query) => panic!("{text:?} parsed as {query:?}"),
        Err(error) => error,
    }
}

fn field(negated: bool, field: Field, values: Vec<Value>) -> Term {
    Term::Field { negated, field, values }
}

fn only_values(text: &str) -> Vec<Value> {
    match parsed(text).terms.as_slice() {
        [Term::Field { values, .. }] => values.clone(),
        other => panic!("{text:?} gave {other:?}"),
    }
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

#[test]
fn the_seed_examples_parse() {
    assert_eq!(
        parsed("status: open urgency: critical").terms,
        vec![
            field(false, Field::Status, vec![Value::StatusCategory(StatusCategory::Open)]),
            field(false, Field::Urgency, vec![Value::Level(Level::Critical)]),
        ]
    );
    assert_eq!(
        parsed("assignee: me created: today").terms,
        vec![
            field(false, Field::Assignee, vec![Value::Me]),
            field(false, Field::Created, vec![Value::Date(DateSpec::Single(DateBound::Today))]),
        ]
    );
    assert_eq!(
        parsed("company: \"Acme Corp\" importance: high").terms,
        vec![
            field(false, Field::Company, vec![text("Acme Corp")]),
            field(false, Field::Importance, vec![Value::Level(Level::High)])
        ]
    );
}

#[test]
fn whitespace_after_the_colon_and_after_commas_is_optional() {
    assert_eq!(parsed("status:open"), parsed("status: open"));
    assert_eq!(parsed("status:open,pending"), parsed("  status:   open,  pending  "));
    assert_eq!(parsed("\tstatus:\nopen"), parsed("status:open"));
    assert_eq!(parsed("").terms, vec![]);
    assert_eq!(parsed("   ").terms, vec![]);
}

#[test]
fn field_names_and_enumerated_values_ignore_case_and_free_values_keep_it() {
    assert_eq!(parsed("STATUS:Open PRIORITY:URGENT"), parsed("status:open priority:urgent"));
    assert_eq!(only_values("Tag:VIP"), vec![text("VIP")]);
}

#[test]
fn status_is_a_category_or_a_status_name() {
    assert_eq!(
        only_values("status:new,open,pending,resolved,closed,waiting_on_parts"),
        vec![
            Value::StatusCategory(StatusCategory::New),
            Value::StatusCategory(StatusCategory::Open),
            Value::StatusCategory(StatusCategory::Pending),
            Value::StatusCategory(StatusCategory::Resolved),
            Value::StatusCategory(StatusCategory::Closed),
            text("waiting_on_parts"),
        ]
    );
}

#[test]
fn enumerated_fields_take_their_domain_values() {
    assert_eq!(
        only_values("priority:low,medium,high,urgent"),
        Priority::ALL.iter().map(|p| Value::Priority(*p)).collect::<Vec<_>>()
    );
    assert_eq!(only_values("urgency:low,critical"), vec![Value::Level(Level::Low), Value::Level(Level::Critical)]);
    assert_eq!(only_values("importance:medium"), vec![Value::Level(Level::Medium)]);
    assert_eq!(
        only_values("channel:whatsapp,email,web,api,phone"),
        Channel::ALL.iter().map(|c| Value::Channel(*c)).collect::<Vec<_>>()
    );
    assert_eq!(
        only_values("sla:breached,at_risk"),
        vec![Value::Sla(SlaCondition::Breached), Value::Sla(SlaCondition::AtRisk)]
    );
    assert_eq!(
        only_values("waiting:agent,customer"),
        vec![Value::Waiting(WaitingOn::Agent), Value::Waiting(WaitingOn::Customer)]
    );
    assert_eq!(only_values("has:attachment,note"), vec![Value::Has(HasThing::Attachment), Value::Has(HasThing::Note)]);
    assert_eq!(
        only_values("hours:inside,outside"),
        vec![Value::Hours(HoursCondition::Inside), Value::Hours(HoursCondition::Outside)]
    );
}

#[test]
fn enumerated_fields_refuse_other_values_and_name_the_choices() {
    let error = failed("priority:critical");
    assert_eq!(error.position, 9);
    assert_eq!(error.expected, "one of low, medium, high, urgent after \"priority:\"");
    assert_eq!(error.found, "\"critical\"");
    assert_eq!(failed("urgency:urgent").expected, "one of low, medium, high, critical after \"urgency:\"");
    assert_eq!(failed("channel:fax").position, 8);
    assert_eq!(failed("sla:late").found, "\"late\"");
    assert_eq!(failed("waiting:nobody").position, 8);
    assert_eq!(failed("has:cat").position, 4);
    assert_eq!(failed("hours:maybe").position, 6);
}

#[test]
fn free_fields_keep_strings_and_take_me_and_none_where_they_mean_something() {
    assert_eq!(
        only_values("assignee:me,none,ana,ana@example.com"),
        vec![Value::Me, Value::None, text("ana"), text("ana@example.com")]
    );
    assert_eq!(only_values("team:none,billing"), vec![Value::None, text("billing")]);
    assert_eq!(only_values("requester:me,bob@example.com"), vec![Value::Me, text("bob@example.com")]);
    assert_eq!(only_values("company:none,acme"), vec![Value::None, text("acme")]);
    assert_eq!(only_values("tag:vip,none"), vec![text("vip"), Value::None]);
    assert_eq!(only_values("type:question,none"), vec![text("question"), Value::None]);
    assert_eq!(only_values("category:\"Billing / Refunds\""), vec![text("Billing / Refunds")]);
    // `me` means nothing for a tag, so it is the tag's name.
    assert_eq!(only_values("tag:me"), vec![text("me")]);
    // A quoted value is always literal text.
    assert_eq!(only_values("tag:\"none\""), vec![text("none")]);
    assert_eq!(only_values("assignee:\"me\""), vec![text("me")]);
}

#[test]
fn custom_fields_are_written_field_dot_key() {
    assert_eq!(
        parsed("field.order_number:A-1001,none").terms,
        vec![field(false, Field::Custom("order_number".to_owned()), vec![text("A-1001"), Value::None])]
    );
    assert_eq!(only_values("Field.Plan:\"Gold plus\""), vec![text("Gold plus")]);
    assert_eq!(failed("field.:x").position, 0);
}

#[test]
fn negation_applies_to_the_whole_condition() {
    assert_eq!(
        parsed("-status:closed,resolved -tag: spam").terms,
        vec![
            field(
                true,
                Field::Status,
                vec![Value::StatusCategory(StatusCategory::Closed), Value::StatusCategory(StatusCategory::Resolved)]
            ),
            field(true, Field::Tag, vec![text("spam")]),
        ]
    );
}

#[test]
fn bare_words_and_quoted_phrases_are_full_text() {
    assert_eq!(
        parsed("refund \"card declined\" status:open late-delivery").terms,
        vec![
            Term::Word("refund".to_owned()),
            Term::Phrase("card declined".to_owned()),
            field(false, Field::Status, vec![Value::StatusCategory(StatusCategory::Open)]),
            Term::Word("late-delivery".to_owned()),
        ]
    );
}

#[test]
fn dates_single_relative_absolute_and_ranges() {
    let day = |y, m, d| DateBound::Day(date(y, m, d));
    assert_eq!(
        only_values("created:today,yesterday,this week,2026-11-01,-7d"),
        vec![
            Value::Date(DateSpec::Single(DateBound::Today)),
            Value::Date(DateSpec::Single(DateBound::Yesterday)),
            Value::Date(DateSpec::Single(DateBound::ThisWeek)),
            Value::Date(DateSpec::Single(day(2026, 11, 1))),
            Value::Date(DateSpec::Single(DateBound::Ago { amount: 7, unit: AgoUnit::Days })),
        ]
    );
    assert_eq!(
        only_values("updated:2026-11-01..2026-11-30"),
        vec![Value::Date(DateSpec::Range { from: Some(day(2026, 11, 1)), to: Some(day(2026, 11, 30)) })]
    );
    assert_eq!(
        only_values("resolved:-12h.."),
        vec![Value::Date(DateSpec::Range {
            from: Some(DateBound::Ago { amount: 12, unit: AgoUnit::Hours }),
            to: None
        })]
    );
    assert_eq!(
        only_values("created:..-2w"),
        vec![Value::Date(DateSpec::Range { from: None, to: Some(DateBound::Ago { amount: 2, unit: AgoUnit::Weeks }) })]
    );
    assert_eq!(
        only_values("created: this week..today"),
        vec![Value::Date(DateSpec::Range { from: Some(DateBound::ThisWeek), to: Some(DateBound::Today) })]
    );
}

#[test]
fn bad_dates_point_at_the_bad_part() {
    let error = failed("created:2026-13-01");
    assert_eq!(error.position, 8);
    assert_eq!(error.found, "\"2026-13-01\"");
    assert!(error.expected.starts_with("a date after \"created:\""), "{}", error.expected);
    assert_eq!(failed("created:2026-11-01..soon").position, 20);
    assert_eq!(failed("updated:..").position, 8);
    assert_eq!(failed("updated:-7x").position, 8);
    assert_eq!(failed("resolved:26-1-1").position, 9);
    assert_eq!(failed("created:this").position, 8);
}

#[test]
fn a_missing_value_says_after_which_field() {
    let error = failed("status: open tag:");
    assert_eq!(
        error,
        QueryError { position: 17, expected: "a value after \"tag:\"".to_owned(), found: "end of query".to_owned() }
    );
    assert_eq!(error.to_string(), "at 17: expected a value after \"tag:\", found end of query");
    let error = failed("tag: status:open");
    assert_eq!(error.position, 5);
    assert_eq!(error.found, "\"status:\"");
    assert_eq!(failed("-team:").expected, "a value after \"-team:\"");
}

#[test]
fn an_unknown_field_is_named_and_the_known_ones_listed() {
    let error = failed("status:open urgencyy:critical");
    assert_eq!(error.position, 12);
    assert_eq!(error.found, "\"urgencyy\"");
    assert!(error.expected.contains("status, category, priority, urgency"), "{}", error.expected);
    assert!(error.expected.ends_with("or field.<key>)"), "{}", error.expected);
    assert_eq!(failed("-bogus:x").position, 1);
}

#[test]
fn an_unterminated_quote_points_at_its_opening() {
    let error = failed("refund \"card declined");
    assert_eq!(error.position, 7);
    assert_eq!(error.found, "end of query");
    assert_eq!(failed("company: \"Acme").position, 9);
}

#[test]
fn an_empty_or_element_is_refused() {
    let error = failed("status:open,,pending");
    assert_eq!(
        error,
        QueryError { position: 12, expected: "a value after \",\"".to_owned(), found: "\",\"".to_owned() }
    );
    assert_eq!(failed("status:open,").position, 12);
    assert_eq!(failed("status:,open").position, 7);
}

#[test]
fn positions_count_characters_not_bytes() {
    let error = failed("açaí status:");
    assert_eq!(error.position, 12);
    assert_eq!(parsed("tag:café").terms, vec![field(false, Field::Tag, vec![text("café")])]);
}

#[test]
fn a_quote_glued_to_a_value_is_refused() {
    assert_eq!(failed("tag:vip\"x\"").position, 7);
    assert_eq!(failed("word\"x\"").position, 4);
}

#[test]
fn display_prints_the_canonical_form() {
    let query =
        parsed("  STATUS: Open,pending   -Tag: \"big deal\" company:\"none\" assignee:ME refund \"card declined\"");
    assert_eq!(
        query.to_string(),
        "status:open,pending -tag:\"big deal\" company:\"none\" assignee:me refund \"card declined\""
    );
    let dates = parsed("created: this week..today updated:-7d.. resolved:2026-11-01..2026-11-30,..yesterday");
    assert_eq!(dates.to_string(), "created:this week..today updated:-7d.. resolved:2026-11-01..2026-11-30,..yesterday");
}

#[test]
fn display_round_trips() {
    for text in [
        "status: open urgency: critical",
        "assignee: me created: today",
        "company: \"Acme Corp\" importance: high",
        "-status:closed,resolved,on_hold tag:vip,\"two words\",none",
        "priority:urgent channel:whatsapp,email sla:at_risk waiting:customer has:attachment,note hours:outside",
        "field.order_number:\"A:1\" team:none requester:bob@example.com type:\"me\"",
        "created:this week updated:-12h..today resolved:..2026-01-02 \"exact phrase\" word",
    ] {
        let query = parsed(text);
        assert_eq!(parsed(&query.to_string()), query, "{text:?} printed as {query}");
    }
}

fn berlin() -> TimeZone {
    match TimeZone::get("Europe/Berlin") {
        Ok(zone) => zone,
        Err(error) => panic!("no tzdb: {error}"),
    }
}

fn at(text: &str) -> Timestamp {
    match text.parse() {
        Ok(at) => at,
        Err(error) => panic!("{text}: {error}"),
    }
}

fn resolved_range(text: &str, now: &str) -> InstantRange {
    let query = match resolve(&parsed(text), at(now), &berlin()) {
        Ok(query) => query,
        Err(error) => panic!("{text}: {error}"),
    };
    match query.terms.as_slice() {
        [Term::Field { values, .. }] => match values.as_slice() {
            [Value::Date(range)] => *range,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn range(start: &str, end: &str) -> InstantRange {
    InstantRange { start: Some(at(start)), end: Some(at(end)) }
}

#[test]
fn today_is_23_hours_on_the_spring_change_in_berlin() {
    // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
    let today = resolved_range("created:today", "2026-03-29T10:00:00Z");
    assert_eq!(today, range("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"));
    let (Some(start), Some(end)) = (today.start, today.end) else { panic!("open range") };
    assert_eq!(start.duration_until(end).as_hours(), 23);
    assert_eq!(
        resolved_range("created:yesterday", "2026-03-30T10:00:00Z"),
        range("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")
    );
}

#[test]
fn today_is_25_hours_on_the_autumn_change_in_berlin() {
    // 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET.
    let today = resolved_range("created:today", "2026-10-25T12:00:00Z");
    assert_eq!(today, range("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"));
    let (Some(start), Some(end)) = (today.start, today.end) else { panic!("open range") };
    assert_eq!(start.duration_until(end).as_hours(), 25);
}

#[test]
fn relative_days_are_local_calendar_days_and_hours_are_hours() {
    // Seven local days before 12:00 CEST on 2026-04-01 is 12:00 CET on 2026-03-25: 167 hours.
    let week = resolved_range("created:-7d..", "2026-04-01T10:00:00Z");
    assert_eq!(week, InstantRange { start: Some(at("2026-03-25T11:00:00Z")), end: None });
    let hours = resolved_range("updated:-12h", "2026-04-01T10:00:00Z");
    assert_eq!(hours, range("2026-03-31T22:00:00Z", "2026-04-01T10:00:00Z"));
}

#[test]
fn absolute_ranges_run_from_the_start_of_the_first_day_to_the_end_of_the_last() {
    let november = resolved_range("created:2026-10-25..2026-10-25", "2026-12-01T00:00:00Z");
    assert_eq!(november, range("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"));
    let open_end = resolved_range("created:..2026-03-29", "2026-12-01T00:00:00Z");
    assert_eq!(open_end, InstantRange { start: None, end: Some(at("2026-03-29T22:00:00Z")) });
}

#[test]
fn this_week_starts_on_monday_in_the_zone() {
    // Sunday 2026-03-29 belongs to the week of Monday 2026-03-23 (CET) to Monday 2026-03-30 (CEST).
    let week = resolved_range("created:this week", "2026-03-29T10:00:00Z");
    assert_eq!(week, range("2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"));
    assert!(week.contains(at("2026-03-29T21:59:59Z")));
    assert!(!week.contains(at("2026-03-29T22:00:00Z")));
}

#[test]
fn resolve_copies_everything_but_dates() {
    let query = parsed("status:open assignee:me -tag:vip refund \"card declined\"");
    let Ok(resolved) = resolve(&query, at("2026-03-29T10:00:00Z"), &berlin()) else { panic!("resolve failed") };
    assert_eq!(resolved.to_string(), query.to_string());
}

mod filter_in_memory {
    use jiff::Timestamp;

    use crate::domain::{FieldType, Ticket};
    use crate::query::filter::{Condition, Test, TicketFilter, custom_text, waiting_on};
    use crate::query::{HasThing, WaitingOn};

    fn ticket(customer_at: Option<i64>, agent_at: Option<i64>) -> Ticket {
        let at = |seconds: i64| Timestamp::from_second(seconds).expect("time");
        let mut ticket: Ticket = serde_json::from_value(serde_json::json!({
            "id": 1, "account_id": 1, "number": 1, "subject": "s", "status": "open", "status_category": "open",
            "urgency": "low", "importance": "low", "priority": "low", "ticket_type": null, "category_id": null,
            "tags": [], "custom_fields": {}, "channel": "web", "requester_id": 2, "company_id": null,
            "assignee_id": null, "team_id": null, "assigned_at": null, "snoozed_until": null, "seq": 1,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "first_response_at": null, "resolved_at": null, "closed_at": null,
            "last_customer_message_at": null, "last_agent_message_at": null
        }))
        .expect("ticket");
        ticket.last_customer_message_at = customer_at.map(at);
        ticket.last_agent_message_at = agent_at.map(at);
        ticket
    }

    #[test]
    fn waiting_is_on_the_side_that_did_not_write_last() {
        assert_eq!(waiting_on(&ticket(Some(10), None)), Some(WaitingOn::Agent));
        assert_eq!(waiting_on(&ticket(Some(10), Some(5))), Some(WaitingOn::Agent));
        assert_eq!(waiting_on(&ticket(Some(10), Some(10))), Some(WaitingOn::Customer), "a reply at the same instant");
        assert_eq!(waiting_on(&ticket(None, Some(5))), Some(WaitingOn::Customer));
        assert_eq!(waiting_on(&ticket(None, None)), None);
    }

    #[test]
    fn custom_values_compare_as_the_query_writes_them() {
        use serde_json::json;
        assert_eq!(custom_text(&json!("A-1"), FieldType::Text), Some("a-1".into()));
        assert_eq!(custom_text(&json!(true), FieldType::Boolean), Some("true".into()));
        assert_eq!(custom_text(&json!(3.0), FieldType::Number), Some("3".into()));
        assert_eq!(custom_text(&json!(3.5), FieldType::Number), Some("3.5".into()));
        assert_eq!(custom_text(&json!(null), FieldType::Text), None);
    }

    #[test]
    fn negation_inverts_and_message_tests_defer_to_the_store() {
        let open = ticket(Some(10), None);
        let negated =
            |test: Test| TicketFilter { conditions: vec![Condition { negated: true, test }], ..Default::default() };
        assert_eq!(negated(Test::Team(vec![Some(4)])).matches(&open), Some(true), "no team is not team 4");
        assert_eq!(negated(Test::Team(vec![None])).matches(&open), Some(false));
        assert_eq!(negated(Test::Has(vec![HasThing::Note])).matches(&open), None, "needs the messages");
        let words = TicketFilter { words: vec!["printer".into()], ..Default::default() };
        assert_eq!(words.matches(&open), None);
        assert_eq!(TicketFilter::default().matches(&open), Some(true));
    }
}
