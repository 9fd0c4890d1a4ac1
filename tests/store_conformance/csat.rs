//! CsatPort: settings round-trip, one survey per ticket cycle, a survey leaves `pending` once
//! (an answer or a cancellation, never both), comments only on answered surveys, the customer's
//! newest survey for the cool-down, a period's answers, and the funnel's join with the
//! carrying message's delivery.

use switchboard_actors::csat::{CsatSettings, NewSurvey, Scale, SurveyChannel, SurveyStatus};

use super::*;

fn survey_of(ticket: &Ticket, cycle: i64, channel: SurveyChannel) -> NewSurvey {
    NewSurvey {
        account_id: ticket.account_id,
        ticket_id: ticket.id,
        customer_id: ticket.requester_id,
        cycle,
        channel,
        scale: Scale::Five,
        question: "How did we do?".to_owned(),
        comment_prompt: "More?".to_owned(),
        team_id: Some(3),
        agent_ids: vec![11, 12],
    }
}

pub async fn surveys_settle_once(store: &dyn Store) {
    let account = store.create_account("Csat").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@csat.example", Role::Customer)).await.expect("user");
    let config = store.account_config(account.id).await.expect("config");
    let ticket = create(store, &config, draft(account.id, customer.id, "Rate me")).await;

    assert_eq!(store.csat_settings(account.id).await.expect("settings"), None);
    let settings = CsatSettings { enabled: true, cooldown_days: 3, ..CsatSettings::default() };
    store.set_csat_settings(account.id, &settings).await.expect("saved");
    store.set_csat_settings(account.id, &settings).await.expect("saved again");
    assert_eq!(store.csat_settings(account.id).await.expect("settings"), Some(settings));

    assert_eq!(store.last_surveyed(account.id, customer.id).await.expect("last"), None);
    let first = store.create_survey(survey_of(&ticket, 1, SurveyChannel::Email)).await.expect("survey");
    assert_eq!((first.status, first.score, first.cycle), (SurveyStatus::Pending, None, 1));
    assert_eq!(first.agent_ids, vec![11, 12]);
    let twice = store.create_survey(survey_of(&ticket, 1, SurveyChannel::Email)).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "one survey per cycle: {twice:?}");
    assert_eq!(store.last_surveyed(account.id, customer.id).await.expect("last"), Some(first.created_at));

    let message = store.ticket_messages(ticket.id).await.expect("messages")[0].id.clone();
    store.set_survey_message(first.id, &message).await.expect("message");
    let at = now();
    assert!(store.answer_survey(first.id, 4, at).await.expect("answer"));
    assert!(!store.answer_survey(first.id, 1, at).await.expect("answer"), "answered once");
    assert!(!store.cancel_survey(first.id, at).await.expect("cancel"), "an answer is not cancelled");
    store.set_survey_comment(first.id, "Kind").await.expect("comment");
    let answered = store.survey(first.id).await.expect("read").expect("survey");
    assert_eq!(
        (answered.status, answered.score, answered.comment.as_deref()),
        (SurveyStatus::Answered, Some(4), Some("Kind"))
    );
    assert_eq!(answered.answered_at, Some(at));
    assert_eq!(answered.message_id.as_deref(), Some(message.as_str()));
    assert_eq!(
        store.last_answered(account.id, customer.id).await.expect("last").map(|survey| survey.id),
        Some(first.id)
    );

    let second = store.create_survey(survey_of(&ticket, 2, SurveyChannel::Portal)).await.expect("cycle 2");
    assert!(store.cancel_survey(second.id, at).await.expect("cancel"));
    assert!(!store.answer_survey(second.id, 5, at).await.expect("answer"), "a cancelled survey takes no answer");
    store.set_survey_comment(second.id, "ignored").await.expect("no-op");
    let cancelled = store.latest_survey(ticket.id).await.expect("latest").expect("survey");
    assert_eq!((cancelled.id, cancelled.status, cancelled.comment), (second.id, SurveyStatus::Cancelled, None));

    let third = store.create_survey(survey_of(&ticket, 3, SurveyChannel::Whatsapp)).await.expect("cycle 3");
    assert!(store.answer_survey(third.id, 2, at).await.expect("answer"));
    store.unanswer_survey(third.id).await.expect("taken back");
    let back = store.survey(third.id).await.expect("read").expect("survey");
    assert_eq!((back.status, back.score, back.answered_at), (SurveyStatus::Pending, None, None));

    let (from, to) = (
        at.checked_sub(SignedDuration::from_secs(60)).expect("from"),
        at.checked_add(SignedDuration::from_secs(1)).expect("to"),
    );
    let answers = store.answered_surveys(account.id, from, to, 10).await.expect("answers");
    assert_eq!(answers.iter().map(|survey| survey.id).collect::<Vec<_>>(), vec![first.id]);
    assert!(
        store
            .answered_surveys(account.id, to, to.checked_add(SignedDuration::from_secs(60)).expect("later"), 10)
            .await
            .expect("none")
            .is_empty()
    );
    let other = store.create_account("Other csat").await.expect("account");
    assert!(store.answered_surveys(other.id, from, to, 10).await.expect("none").is_empty(), "per account");

    let created_from = first.created_at.checked_sub(SignedDuration::from_secs(1)).expect("from");
    let created_to = now().checked_add(SignedDuration::from_secs(1)).expect("to");
    let mut funnel = store.survey_funnel(account.id, created_from, created_to).await.expect("funnel");
    funnel.sort_by_key(|row| row.channel);
    let rows: Vec<(SurveyChannel, SurveyStatus, Option<DeliveryStatus>)> =
        funnel.into_iter().map(|row| (row.channel, row.status, row.delivery)).collect();
    assert_eq!(
        rows,
        vec![
            (SurveyChannel::Whatsapp, SurveyStatus::Pending, None),
            // The customer's first message carries no delivery status.
            (SurveyChannel::Email, SurveyStatus::Answered, None),
            (SurveyChannel::Portal, SurveyStatus::Cancelled, None),
        ]
    );
}
