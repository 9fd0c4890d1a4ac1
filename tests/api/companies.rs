//! Companies (issue 14 item 6): staff read them, admins write them, customers are refused; their
//! domains are hostnames held by one company each, and take in customers who proved an address
//! there (a confirmed registration, a password account when the domain is added) but never a
//! profile made by inbound email; their SLA tier raises a member's new ticket's priority, and
//! with it the SLA targets. Every test runs on each backend.

use super::*;

async fn create_company(desk: &Desk, admin: &str, body: Value) -> Value {
    desk.expect(201, "POST", "/api/v1/companies", admin, Some(body)).await
}

async fn members(desk: &Desk, token: &str, company: i64) -> Vec<String> {
    let page = desk.expect(200, "GET", &format!("/api/v1/companies/{company}/members"), token, None).await;
    page["items"]
        .as_array()
        .expect("members")
        .iter()
        .map(|user| user["email"].as_str().expect("email").to_owned())
        .collect()
}

/// The six digits that start the subject of the newest mail to `address` (a registration code).
async fn mailed_code(desk: &Desk, admin: &str, address: &str) -> String {
    let path = format!("/sandbox/mail/messages?address={}", encoded(address));
    let list = desk.expect(200, "GET", &path, admin, None).await;
    let newest = list["items"].as_array().expect("mails").iter().rfind(|mail| mail["direction"] == "out").cloned();
    let subject =
        newest.unwrap_or_else(|| panic!("no mail to {address}"))["subject"].as_str().expect("subject").to_owned();
    subject.chars().take(6).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_write_companies_staff_read_them_and_customers_are_refused() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let customer = desk.login("cust@test.example").await;
        let body =
            json!({"name": " Acme ", "domains": ["Acme.COM", "@acme.com", "mail.acme.com."], "sla_tier": "high"});
        let acme = create_company(&desk, &admin, body).await;
        let id = id_of(&acme);
        assert_eq!(acme["name"], "Acme");
        assert_eq!(acme["domains"], json!(["acme.com", "mail.acme.com"]), "lower case, each once");
        assert_eq!((&acme["sla_tier"], &acme["member_count"]), (&json!("high"), &json!(0)));
        assert_eq!(acme["members_see_company_tickets"], false);
        let path = format!("/api/v1/companies/{id}");

        // Staff read; only admins write.
        assert_eq!(desk.expect(200, "GET", &path, &agent, None).await, acme);
        let listed = desk.expect(200, "GET", "/api/v1/companies", &agent, None).await;
        assert_eq!(listed["items"], json!([acme]));
        assert_eq!(members(&desk, &agent, id).await, Vec::<String>::new());
        let (status, refused) = desk.call("PATCH", &path, &agent, Some(json!({"name": "Agents' Acme"}))).await;
        assert_error((status, &refused), 403, "forbidden");
        let (status, refused) = desk.call("POST", "/api/v1/companies", &agent, Some(json!({"name": "Nope"}))).await;
        assert_error((status, &refused), 403, "forbidden");

        // Customers see none of it, not even their own company's record.
        for (method, path) in [
            ("GET", "/api/v1/companies".to_owned()),
            ("GET", path.clone()),
            ("GET", format!("{path}/members")),
            ("PATCH", path.clone()),
            ("POST", "/api/v1/companies".to_owned()),
        ] {
            let body = (method != "GET").then(|| json!({"name": "Mine"}));
            let (status, refused) = desk.call(method, &path, &customer, body).await;
            assert_error((status, &refused), 403, "forbidden");
        }
        assert_eq!(desk.expect(200, "GET", &path, &admin, None).await["name"], "Acme", "nothing changed");

        // An admin changes every field; writing needs seeing.
        let change = json!({
            "name": "Acme Ltd", "domains": ["acme.org"], "members_see_company_tickets": true,
            "members_write_company_tickets": true, "sla_tier": "urgent"
        });
        let changed = desk.expect(200, "PATCH", &path, &admin, Some(change)).await;
        assert_eq!(changed["name"], "Acme Ltd");
        assert_eq!(changed["domains"], json!(["acme.org"]));
        assert_eq!(
            (&changed["members_see_company_tickets"], &changed["members_write_company_tickets"]),
            (&json!(true), &json!(true))
        );
        assert_eq!(changed["sla_tier"], "urgent");
        let changed =
            desk.expect(200, "PATCH", &path, &admin, Some(json!({"members_see_company_tickets": false}))).await;
        assert_eq!(changed["members_write_company_tickets"], false, "no writing on tickets one cannot see");
        let cleared = desk.expect(200, "PATCH", &path, &admin, Some(json!({"sla_tier": null}))).await;
        assert_eq!(
            (&cleared["sla_tier"], &cleared["name"], &cleared["domains"]),
            (&Value::Null, &json!("Acme Ltd"), &json!(["acme.org"]))
        );
        assert_eq!(desk.expect(200, "GET", &path, &agent, None).await, cleared);

        let (status, missing) = desk.call("GET", "/api/v1/companies/999999", &agent, None).await;
        assert_error((status, &missing), 404, "not_found");
        let (status, missing) =
            desk.call("PATCH", "/api/v1/companies/999999", &admin, Some(json!({"name": "X"}))).await;
        assert_error((status, &missing), 404, "not_found");
        let (status, missing) = desk.call("GET", "/api/v1/companies/999999/members", &agent, None).await;
        assert_error((status, &missing), 404, "not_found");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn company_fields_are_validated_naming_the_field_and_a_domain_has_one_company() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, _) = desk.staff().await;
        let acme = create_company(&desk, &admin, json!({"name": "Acme", "domains": ["acme.com"]})).await;
        let path = format!("/api/v1/companies/{}", id_of(&acme));
        let refusals = [
            (json!({"domains": ["not a domain"]}), "domains[0]"),
            (json!({"domains": ["acme.com", "com"]}), "domains[1]"),
            (json!({"domains": ["ok.com", "-bad.com"]}), "domains[1]"),
            (json!({"domains": ["*.acme.com"]}), "domains[0]"),
            (json!({"domains": "acme.com"}), "domains"),
            (json!({"name": ""}), "name"),
            (json!({"name": "   "}), "name"),
            (json!({"name": "The \"Best\" Co"}), "name"),
            (json!({"sla_tier": "critical"}), "sla_tier"),
            (json!({"members_see_company_tickets": "yes"}), "members_see_company_tickets"),
        ];
        for (body, field) in refusals {
            let (status, refused) = desk.call("PATCH", &path, &admin, Some(body.clone())).await;
            assert_invalid((status, &refused), field);
            let mut create = json!({"name": "Other"});
            for (key, value) in body.as_object().expect("object") {
                create[key] = value.clone();
            }
            let (status, refused) = desk.call("POST", "/api/v1/companies", &admin, Some(create)).await;
            assert_invalid((status, &refused), field);
        }
        let (status, refused) = desk.call("PATCH", &path, &admin, Some(json!({"colour": "red"}))).await;
        assert_error((status, &refused), 422, "validation_failed");
        assert!(refused["message"].as_str().expect("message").contains("colour"), "{refused}");
        let (status, refused) =
            desk.call("POST", "/api/v1/companies", &admin, Some(json!({"name": "X", "tier": "high"}))).await;
        assert_error((status, &refused), 422, "validation_failed");

        // A domain another company holds: 409 naming it, and nothing is written.
        let globex = create_company(&desk, &admin, json!({"name": "Globex", "domains": ["globex.com"]})).await;
        let globex_path = format!("/api/v1/companies/{}", id_of(&globex));
        let body = json!({"name": "Globex Corp", "domains": ["globex.com", "ACME.com"]});
        let (status, refused) = desk.call("PATCH", &globex_path, &admin, Some(body)).await;
        assert_error((status, &refused), 409, "domain_taken");
        assert!(refused["message"].as_str().expect("message").contains("acme.com"), "{refused}");
        assert_eq!(
            desk.expect(200, "GET", &globex_path, &admin, None).await,
            globex,
            "the refused change wrote nothing"
        );
        let (status, refused) = desk
            .call("POST", "/api/v1/companies", &admin, Some(json!({"name": "Initech", "domains": ["acme.com"]})))
            .await;
        assert_error((status, &refused), 409, "domain_taken");
        let (status, refused) = desk.call("POST", "/api/v1/companies", &admin, Some(json!({"name": "Acme"}))).await;
        assert_error((status, &refused), 409, "company_exists");
        let (status, refused) = desk.call("PATCH", &globex_path, &admin, Some(json!({"name": "Acme"}))).await;
        assert_error((status, &refused), 409, "company_exists");
        let names: Vec<Value> = desk.expect(200, "GET", "/api/v1/companies", &admin, None).await["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|company| company["name"].clone())
            .collect();
        assert_eq!(names, [json!("Acme"), json!("Globex")], "no company was made by a refusal");
        // Its own domains again, re-cased: not a conflict with itself.
        let kept = desk.expect(200, "PATCH", &path, &admin, Some(json!({"domains": ["ACME.COM"]}))).await;
        assert_eq!(kept["domains"], json!(["acme.com"]));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_customers_at_a_domain_join_and_inbound_email_profiles_do_not() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let acme = create_company(&desk, &admin, json!({"name": "Acme", "domains": ["acme.example"]})).await;
        let id = id_of(&acme);

        // Someone writes by email from an Acme address: a profile without a password, unproven.
        let mail = json!({"from": "mallory@acme.example", "name": "Mallory", "subject": "Let me in", "text": "Hi"});
        desk.expect(200, "POST", "/sandbox/mail/send", &agent, Some(mail)).await;
        let mut requester = Value::Null;
        for _ in 0..100 {
            let page = desk.expect(200, "GET", "/api/v1/tickets?q=channel:email", &agent, None).await;
            if let Some(ticket) = page["items"].as_array().and_then(|items| items.first()) {
                requester = ticket["requester_id"].clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(requester.is_i64(), "the inbound email became a ticket");
        let mallory = desk.expect(200, "GET", &format!("/api/v1/users/{requester}"), &agent, None).await;
        assert_eq!((&mallory["email"], &mallory["company_id"]), (&json!("mallory@acme.example"), &Value::Null));

        // A registration confirmed by its emailed code joins the company.
        let body = json!({"email": "Lia@Acme.example", "name": "Lia", "password": "lia-password-1"});
        assert_eq!(desk.server.call("POST", "/api/v1/auth/register", None, Some(body)).await.0, 202);
        let code = mailed_code(&desk, &admin, "lia@acme.example").await;
        let (status, verified) = desk
            .server
            .call("POST", "/api/v1/auth/verify", None, Some(json!({"email": "lia@acme.example", "code": code})))
            .await;
        assert_eq!(status, 200, "{verified}");
        assert_eq!(verified["user"]["company_id"], json!(id), "{verified}");
        assert_eq!(members(&desk, &agent, id).await, ["lia@acme.example"], "Mallory is not a member");
        assert_eq!(desk.expect(200, "GET", &format!("/api/v1/companies/{id}"), &agent, None).await["member_count"], 1);

        // Adding a domain takes in the password accounts there (the seeded customers), not the
        // profile an inbound email made there, and not staff.
        let mail = json!({"from": "eve@test.example", "name": "Eve", "subject": "Me too", "text": "Hi"});
        desk.expect(200, "POST", "/sandbox/mail/send", &agent, Some(mail)).await;
        eventually("Eve's profile", || async {
            desk.users(&admin).await.iter().any(|user| user["email"] == "eve@test.example")
        })
        .await;
        let body = json!({"domains": ["acme.example", "test.example"]});
        let changed = desk.expect(200, "PATCH", &format!("/api/v1/companies/{id}"), &admin, Some(body)).await;
        assert_eq!(changed["member_count"], 3);
        let mut joined = members(&desk, &agent, id).await;
        joined.sort();
        assert_eq!(joined, ["cust@test.example", "lia@acme.example", "other@test.example"]);
        let users = desk.users(&admin).await;
        let company_of =
            |email: &str| users.iter().find(|user| user["email"] == email).expect("user")["company_id"].clone();
        assert_eq!(company_of("eve@test.example"), Value::Null);
        assert_eq!(company_of("agent@test.example"), Value::Null);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_companys_sla_tier_raises_its_members_new_tickets_and_their_targets() {
    for backend in backends() {
        let desk = Desk::start_on(backend, manual_clock()).await;
        let (admin, agent) = desk.staff().await;
        let policy = json!({
            "enabled": true,
            "warning_percent": 75,
            "targets": [
                {"priority": "low", "first_response_minutes": 480},
                {"priority": "high", "first_response_minutes": 60, "resolution_minutes": 480}
            ]
        });
        desk.expect(200, "PUT", "/api/v1/account/sla-policy", &admin, Some(policy)).await;
        let body = json!({"name": "Acme", "domains": ["test.example"], "sla_tier": "high"});
        let acme = create_company(&desk, &admin, body).await;
        assert_eq!(acme["member_count"], 2, "the seeded customers joined");
        let outsider = desk
            .create_user(&admin, json!({"email": "zed@elsewhere.example", "name": "Zed", "role": "customer"}))
            .await;
        let low = json!({"urgency": "low", "importance": "low", "body": "help"});
        let ticket_for = |requester: i64, subject: &str| {
            let mut body = low.clone();
            body["subject"] = json!(subject);
            body["requester_id"] = json!(requester);
            body
        };

        let member = desk.create_ticket(&agent, ticket_for(desk.seeded.customer.id, "Member")).await;
        assert_eq!((&member["priority"], &member["urgency"]), (&json!("high"), &json!("low")), "raised to the tier");
        let created: jiff::Timestamp = member["created_at"].as_str().expect("created_at").parse().expect("timestamp");
        let due = |minutes: i64| json!(created.saturating_add(jiff::SignedDuration::from_mins(minutes)).expect("time"));
        assert_eq!(member["sla"]["first_response"]["due_at"], due(60), "the high targets apply");
        assert_eq!(member["sla"]["resolution"]["due_at"], due(480));

        let other = desk.create_ticket(&agent, ticket_for(id_of(&outsider), "Outsider")).await;
        assert_eq!(other["priority"], "low", "not a member: the matrix alone");
        assert_eq!(other["sla"]["first_response"]["due_at"], {
            let created: jiff::Timestamp =
                other["created_at"].as_str().expect("created_at").parse().expect("timestamp");
            json!(created.saturating_add(jiff::SignedDuration::from_mins(480)).expect("time"))
        });

        // A customer's own ticket is raised too; a matrix priority above the tier stays.
        let customer = desk.login("cust@test.example").await;
        let own = desk.create_ticket(&customer, json!({"subject": "Own", "body": "help"})).await;
        assert_eq!(desk.ticket(&agent, id_of(&own)).await["priority"], "high", "customers do not see priorities");
        let mut pressing = ticket_for(desk.seeded.customer.id, "Pressing");
        pressing["urgency"] = json!("critical");
        pressing["importance"] = json!("critical");
        assert_eq!(desk.create_ticket(&agent, pressing).await["priority"], "urgent", "never lowered");

        // On the email channel too: a member writes from their address.
        let body = json!({"email": "mem@test.example", "name": "Mem", "role": "customer", "company_id": id_of(&acme)});
        let mem = desk.expect(201, "POST", "/api/v1/users", &admin, Some(body)).await;
        let mail = json!({"from": "mem@test.example", "name": "Mem", "subject": "By mail", "text": "help"});
        desk.expect(200, "POST", "/sandbox/mail/send", &agent, Some(mail)).await;
        let mut emailed = Value::Null;
        for _ in 0..100 {
            let page =
                desk.expect(200, "GET", &format!("/api/v1/tickets?requester={}", id_of(&mem)), &agent, None).await;
            if let Some(ticket) = page["items"].as_array().and_then(|items| items.first()) {
                emailed = ticket.clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!((&emailed["channel"], &emailed["priority"]), (&json!("email"), &json!("high")), "{emailed}");

        // Without a tier, members' tickets follow the matrix again.
        let path = format!("/api/v1/companies/{}", id_of(&acme));
        desk.expect(200, "PATCH", &path, &admin, Some(json!({"sla_tier": null}))).await;
        let after = desk.create_ticket(&agent, ticket_for(desk.seeded.customer.id, "After")).await;
        assert_eq!(after["priority"], "low");
        desk.stop().await;
    }
}
