//! `switchboard demo`: a demo account a newcomer can log in to and explore: an admin, a
//! supervisor, agents in two teams, customers (one company sharing its tickets), and tickets in
//! every state with replies, notes, tags and assignments; typed custom fields and an SLA policy, so
//! the queue shows SLA badges and the ticket page its SLA tracker; a knowledge base in three
//! languages ([`knowledge_base`]).

mod knowledge_base;

use std::sync::Arc;
use switchboard_actors::automation::{NewRule, RuleSpec};

use anyhow::Context as _;
use switchboard_actors::domain::*;
use switchboard_actors::store::{NewCompany, NewTeam, NewUser, Store};
use switchboard_actors::ticket::{
    Assignment, CommandContext, NewMessage, TicketCommand, TicketDraft, TicketPatch, Tickets,
};

/// Every demo login uses this password.
pub const DEMO_PASSWORD: &str = "switchboard-demo";
const ADMIN_EMAIL: &str = "admin@demo.switchboard.test";

struct Person {
    email: &'static str,
    name: &'static str,
    role: Role,
}

const STAFF: &[Person] = &[
    Person { email: ADMIN_EMAIL, name: "Ada Admin", role: Role::Admin },
    Person { email: "sam@demo.switchboard.test", name: "Sam Supervisor", role: Role::Supervisor },
    Person { email: "ana@demo.switchboard.test", name: "Ana Agent", role: Role::Agent },
    Person { email: "ben@demo.switchboard.test", name: "Ben Agent", role: Role::Agent },
];

pub async fn seed(store: &Arc<dyn Store>, tickets: &Tickets) -> anyhow::Result<()> {
    if store.user_credentials(ADMIN_EMAIL).await?.is_some() {
        println!("The demo account already exists.");
        print_logins();
        return Ok(());
    }
    let account = crate::cli::default_account(store.as_ref()).await?;
    let hash = crate::auth::hash_password(DEMO_PASSWORD)?;
    let mut staff = Vec::new();
    for person in STAFF {
        staff.push(
            store
                .create_user(new_user(&account, person.email, person.name, person.role, Some(hash.clone()), None))
                .await?,
        );
    }
    // Sam leads both teams, so the supervisor's boards (presence, reports) have teams to show.
    let (sam, ana, ben) = (staff[1].id, staff[2].id, staff[3].id);
    let support = store
        .create_team(NewTeam {
            account_id: account.id,
            name: "Support".into(),
            description: "First line".into(),
            member_ids: vec![sam, ana, ben],
        })
        .await?;
    let billing = store
        .create_team(NewTeam {
            account_id: account.id,
            name: "Billing".into(),
            description: "Invoices and refunds".into(),
            member_ids: vec![sam, ben],
        })
        .await?;
    let acme = store
        .create_company(NewCompany {
            account_id: account.id,
            name: "Acme Ltd".into(),
            members_see_company_tickets: true,
            members_write_company_tickets: false,
            domains: vec!["acme.test".into()],
            sla_tier: None,
        })
        .await?;
    let carla = store
        .create_user(new_user(
            &account,
            "carla@acme.test",
            "Carla Customer",
            Role::Customer,
            Some(hash.clone()),
            Some(acme.id),
        ))
        .await?;
    let dan = store
        .create_user(new_user(
            &account,
            "dan@acme.test",
            "Dan Okafor",
            Role::Customer,
            Some(hash.clone()),
            Some(acme.id),
        ))
        .await?;
    let mut erin_new = new_user(&account, "erin@example.test", "Erin Silva", Role::Customer, Some(hash), None);
    erin_new.phone = Some("+5511987654321".into());
    let erin = store.create_user(erin_new).await?;
    // Erin is reachable both ways: by email, and on WhatsApp from the sandbox phone's default
    // number, so the reply box offers the choice.
    store.add_contact(account.id, erin.id, Channel::Whatsapp, "5511987654321").await?;

    for (title, body) in [
        ("Greeting", "Hi! Thanks for reaching out — I'm looking into this now."),
        (
            "Refund on its way",
            "Your refund has been issued; it usually shows on your statement within 3–5 business days.",
        ),
        ("Closing", "Glad we could help! If anything else comes up, just reply here."),
    ] {
        store.create_canned_response(account.id, title, body).await?;
    }
    let refunds = store.create_category(account.id, None, "Billing").await?;
    store.create_category(account.id, Some(refunds.id), "Refunds").await?;
    for (key, label, field_type, options) in [
        ("order_number", "Order number", FieldType::Number, &[][..]),
        ("plan", "Plan", FieldType::Select, &["free", "pro", "enterprise"][..]),
        ("vip", "VIP", FieldType::Boolean, &[][..]),
        ("renewal_date", "Renewal date", FieldType::Date, &[][..]),
    ] {
        let options = options.iter().map(|option| option.to_string()).collect();
        let field =
            CustomFieldDef { key: key.into(), label: label.into(), field_type, options, customer_visible: false };
        store.upsert_custom_field(account.id, &field).await?;
    }
    // A policy a small desk might start with: urgent answered within half an hour and solved
    // within four hours, down to two days for low priority; a WhatsApp customer answered at
    // least an hour before their 24-hour window closes; warn at 80 % of a target.
    let target = |priority, first: i64, resolution: i64| SlaTarget {
        priority,
        first_response_minutes: Some(first),
        resolution_minutes: Some(resolution),
        window_minutes: Some(60),
    };
    let policy = SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![
            target(Priority::Urgent, 30, 240),
            target(Priority::High, 60, 480),
            target(Priority::Medium, 240, 1440),
            target(Priority::Low, 480, 2880),
        ],
        // Around the clock, so the demo's clocks move whenever someone tries it.
        business_hours: None,
    };
    store.set_sla_policy(account.id, &policy).await?;
    let config = Arc::new(store.account_config(account.id).await?);

    struct Seed<'a> {
        subject: &'a str,
        body: &'a str,
        requester: &'a User,
        channel: Channel,
        urgency: Level,
        importance: Level,
        tags: &'a [&'a str],
        assignee: Option<UserId>,
        team: Option<TeamId>,
        reply: Option<&'a str>,
        note: Option<&'a str>,
        status: Option<&'a str>,
    }
    let seeds = [
        Seed {
            subject: "Order #4471 never arrived",
            body: "Hi, I paid two weeks ago and the parcel never came.",
            requester: &erin,
            channel: Channel::Whatsapp,
            urgency: Level::High,
            importance: Level::Medium,
            tags: &["delivery"],
            assignee: Some(ana),
            team: Some(support.id),
            reply: Some("Sorry about that, Erin! I'm checking with the courier now."),
            note: Some("Courier says it is stuck in customs."),
            status: Some("pending"),
        },
        Seed {
            subject: "Charged twice for the annual plan",
            body: "My card shows two charges of $240 today.",
            requester: &carla,
            channel: Channel::Email,
            urgency: Level::Critical,
            importance: Level::High,
            tags: &["billing", "refund"],
            assignee: Some(ben),
            team: Some(billing.id),
            reply: None,
            note: Some("Confirmed duplicate in Stripe; refund queued."),
            status: None,
        },
        Seed {
            subject: "How do I add a teammate?",
            body: "Where do I invite a colleague to our workspace?",
            requester: &dan,
            channel: Channel::Web,
            urgency: Level::Low,
            importance: Level::Low,
            tags: &["how-to"],
            assignee: Some(ana),
            team: Some(support.id),
            reply: Some("Settings → Team → Invite. They get an email right away."),
            note: None,
            status: Some("resolved"),
        },
        Seed {
            subject: "App crashes when uploading a photo",
            body: "Every time I attach a picture the app closes.",
            requester: &erin,
            channel: Channel::Whatsapp,
            urgency: Level::High,
            importance: Level::High,
            tags: &["bug", "mobile"],
            assignee: None,
            team: Some(support.id),
            reply: None,
            note: None,
            status: None,
        },
        Seed {
            subject: "Invoice needs our VAT number",
            body: "Please reissue invoice 2026-118 with VAT ID GB123456789.",
            requester: &carla,
            channel: Channel::Email,
            urgency: Level::Medium,
            importance: Level::Medium,
            tags: &["billing"],
            assignee: None,
            team: Some(billing.id),
            reply: None,
            note: None,
            status: None,
        },
        Seed {
            subject: "Thanks for the quick help!",
            body: "All sorted now, thank you.",
            requester: &dan,
            channel: Channel::Web,
            urgency: Level::Low,
            importance: Level::Low,
            tags: &[],
            assignee: Some(ben),
            team: None,
            reply: Some("Glad we could help, Dan!"),
            note: None,
            status: Some("closed"),
        },
    ];
    let admin_id = staff[0].id;
    let mut seeded = Vec::new();
    for seed in seeds {
        let draft = TicketDraft {
            account_id: account.id,
            subject: seed.subject.into(),
            body: Some(seed.body.into()),
            body_kind: MessageKind::Customer,
            status: None,
            urgency: seed.urgency,
            importance: seed.importance,
            ticket_type: Some("question".into()),
            category_id: None,
            tags: seed.tags.iter().map(|tag| tag.to_string()).collect(),
            custom_fields: match seed.subject {
                "Order #4471 never arrived" => CustomFields::from([("order_number".into(), 4471.into())]),
                "Charged twice for the annual plan" => CustomFields::from([
                    ("plan".into(), "pro".into()),
                    ("vip".into(), true.into()),
                    ("renewal_date".into(), "2027-01-15".into()),
                ]),
                _ => CustomFields::new(),
            },
            channel: seed.channel,
            requester_id: seed.requester.id,
            company_id: seed.requester.company_id,
            minimum_priority: None,
            assignee_id: None,
            team_id: None,
            created_by: Some(seed.requester.id),
            first_payload: None,
            first_provider_id: None,
            first_attachments: Vec::new(),
            window: None,
        };
        let created = tickets.create(draft, &config).await.context("creating a demo ticket")?;
        let id = created.ticket.id;
        seeded.push(id);
        let as_user = |user: UserId| CommandContext {
            actor_id: Some(user),
            config: config.clone(),
            expected_seq: None,
            seen_seq: None,
        };
        if seed.assignee.is_some() || seed.team.is_some() {
            let assignment = Assignment {
                assignee_id: seed.assignee,
                team_id: seed.team,
                reason: Some("demo triage".into()),
                explanation: None,
            };
            tickets.execute(id, TicketCommand::Assign(assignment), as_user(admin_id)).await?;
        }
        let agent = seed.assignee.unwrap_or(admin_id);
        if let Some(note) = seed.note {
            tickets
                .execute(id, TicketCommand::AddMessage(NewMessage::text(MessageKind::Note, note)), as_user(agent))
                .await?;
        }
        if let Some(reply) = seed.reply {
            tickets
                .execute(id, TicketCommand::AddMessage(NewMessage::text(MessageKind::Reply, reply)), as_user(agent))
                .await?;
        }
        if let Some(status) = seed.status {
            let patch = TicketPatch { status: Some(status.into()), ..TicketPatch::default() };
            tickets.execute(id, TicketCommand::Update(patch), as_user(agent)).await?;
        }
    }
    // The rules come last, so the demo's history reads as people wrote it; the tickets then
    // start their time rules' waits (unassigned, resolved, waiting on an agent) from now.
    for (name, rule) in demo_rules() {
        let spec: RuleSpec = serde_json::from_value(rule)?;
        let new = NewRule {
            account_id: account.id,
            name: name.into(),
            enabled: true,
            position: None,
            spec,
            created_by: admin_id,
        };
        store.create_rule(new, switchboard_actors::clock::Clock::now(&switchboard_actors::clock::SystemClock)).await?;
    }
    for id in seeded {
        let command = TicketCommand::RunAutomations { after: Vec::new() };
        tickets.execute(id, command, CommandContext::system(config.clone())).await?;
    }
    knowledge_base::seed(store.as_ref(), account.id, staff[0].id, ana).await.context("seeding the knowledge base")?;
    println!("Seeded the demo account #{} ({}).", account.id, account.name);
    print_logins();
    println!("The public help center is at /help (Ana Agent may edit it: she holds kb_editor).");
    Ok(())
}

/// The automation rules the demo seeds (the README shows the same): the four examples of the
/// seeds, an acknowledgement on every new WhatsApp ticket, an out-of-hours auto-reply and a
/// two-level escalation.
pub fn demo_rules() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        (
            "Unassigned for 2 hours: tell the supervisors",
            json!({
            "when": {"for": "PT2H", "while": "assignee: none status: new,open"},
            "then": [{"notify": "supervisors", "message": "Unassigned for 2 hours"}]}),
        ),
        (
            "Critical × critical: alert every agent",
            json!({
            "when": {"event": "priority_changed"}, "if": "urgency: critical importance: critical",
            "then": [{"notify": "all_agents", "message": "Urgency and importance are both critical"}]}),
        ),
        (
            "Close resolved after 3 days",
            json!({
            "when": {"for": "P3D", "while": "status: resolved", "hours": "calendar"},
            "then": [{"set": {"status": "closed"}}, {"note": "Closed after 3 days resolved"}]}),
        ),
        (
            "No agent reply for 48 hours: remind the assignee",
            json!({
            "when": {"for": "PT48H", "while": "waiting: agent status: new,open"},
            "then": [{"notify": "assignee", "message": "The customer has waited 48 hours for a reply"}]}),
        ),
        (
            "Acknowledge new WhatsApp tickets",
            json!({
            "when": {"event": "ticket_created"}, "if": "channel: whatsapp",
            "then": [{"reply": {"body": "Thanks for your message! An agent will answer you here shortly."},
                      "template": {"name": "hello_world", "language": "en_US"}}]}),
        ),
        (
            "Out of hours: say when we are back",
            json!({
            "when": {"event": "customer_replied"}, "if": "hours: outside",
            "then": [{"reply": {"body": "We are closed right now; we will answer as soon as we open."}}]}),
        ),
        (
            "Escalation 1: SLA breached, tell the supervisors",
            json!({
            "when": {"event": "sla_breached"},
            "then": [{"notify": "supervisors", "message": "An SLA target was missed"}, {"add_tags": ["escalated"]}]}),
        ),
        (
            "Escalation 2: still breached after an hour, alert every agent",
            json!({
            "when": {"for": "PT1H", "while": "sla: breached status: new,open"},
            "then": [{"notify": "all_agents", "message": "Breached for an hour"}, {"set": {"urgency": "critical"}}]}),
        ),
    ]
}

fn new_user(
    account: &Account,
    email: &str,
    name: &str,
    role: Role,
    password_hash: Option<String>,
    company_id: Option<CompanyId>,
) -> NewUser {
    NewUser {
        account_id: account.id,
        email: email.into(),
        name: name.into(),
        role,
        password_hash,
        company_id,
        team_ids: Vec::new(),
        capacity: if role.is_staff() { crate::DEFAULT_CAPACITY } else { 0 },
        time_zone: "Europe/London".into(),
        phone: None,
    }
}

fn print_logins() {
    println!("Logins (password `{DEMO_PASSWORD}` for all):");
    for person in STAFF {
        println!("  {:<11} {}", person.role.as_str(), person.email);
    }
    println!("  {:<11} carla@acme.test (sees Acme's tickets), dan@acme.test, erin@example.test", "customer");
}
