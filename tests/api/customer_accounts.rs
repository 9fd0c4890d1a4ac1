//! Customer accounts (issue 14 item 1): registration and its emailed code, password recovery,
//! passwordless login by a code over email or WhatsApp, WhatsApp number verification and the
//! merge of a customer's profiles. Codes are read where a customer would read them: the sandbox
//! mailbox and the sandbox phone. Every test runs on each backend.

use super::*;

const NEW_PASSWORD: &str = "a-brand-new-password";
const WA_NUMBER: &str = "5511987654321";

/// A desk on `backend` with a manual clock and room for many wrong tries in a row (the login
/// delays have their own tests).
async fn desk_on(backend: Backend) -> (Desk, Arc<switchboard_actors::clock::ManualClock>) {
    let clock = manual_clock();
    let desk = Desk::start_tuned(backend, clock.clone(), |settings| {
        settings.auth.login_free_failures = 50;
        settings.auth.address_codes_per_minute = 1;
    })
    .await;
    (desk, clock)
}

async fn post(desk: &Desk, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    desk.server.call("POST", path, token, Some(body)).await
}

/// The mails the sandbox mailbox holds for `address`, oldest first.
async fn mails(desk: &Desk, address: &str) -> Vec<Value> {
    let admin = desk.login("admin@test.example").await;
    let path = format!("/sandbox/mail/messages?address={}", encoded(address));
    let list = desk.expect(200, "GET", &path, &admin, None).await;
    list["items"].as_array().expect("mail items").iter().filter(|mail| mail["direction"] == "out").cloned().collect()
}

/// The six digits that start the subject of the newest mail to `address`.
async fn mailed_code(desk: &Desk, address: &str) -> String {
    let all = mails(desk, address).await;
    let last = all.last().unwrap_or_else(|| panic!("no mail to {address}"));
    let subject = last["subject"].as_str().expect("subject");
    let code: String = subject.chars().take(6).collect();
    assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()), "no code in {subject:?}");
    code
}

/// What the sandbox phone `wa_id` shows, oldest first.
async fn phone(desk: &Desk, wa_id: &str) -> Vec<Value> {
    let admin = desk.login("admin@test.example").await;
    let list = desk.expect(200, "GET", &format!("/sandbox/api/messages?wa_id={wa_id}"), &admin, None).await;
    list["items"].as_array().expect("phone items").clone()
}

/// The code in the newest message from the business on `wa_id`'s phone, and that message.
async fn phoned_code(desk: &Desk, wa_id: &str) -> (String, String) {
    let messages = phone(desk, wa_id).await;
    let last = messages.iter().rev().find(|message| message["direction"] == "out").expect("a message to the phone");
    let text = last["text"].as_str().expect("text").to_owned();
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned();
    (code, text)
}

/// A wrong code for `right` (same length, another value).
fn wrong(right: &str) -> String {
    let first = right.as_bytes()[0];
    let other = if first == b'9' { '0' } else { char::from(first + 1) };
    format!("{other}{}", &right[1..])
}

async fn login_status(desk: &Desk, email: &str, password: &str) -> (u16, Value) {
    post(desk, "/api/v1/auth/login", None, json!({"email": email, "password": password})).await
}

async fn user_count(desk: &Desk) -> usize {
    let admin = desk.login("admin@test.example").await;
    desk.users(&admin).await.len()
}

/// A customer writes from `wa_id` on the sandbox phone; answers their ticket once it exists.
async fn whatsapp_customer_writes(desk: &Desk, wa_id: &str, text: &str) -> Value {
    let admin = desk.login("admin@test.example").await;
    let body = json!({"wa_id": wa_id, "name": "Wanda WhatsApp", "text": text});
    desk.expect(200, "POST", "/sandbox/api/send", &admin, Some(body)).await;
    // The ticket, once its conversation's window is stored open too (the conversation is
    // written apart from the ticket, so a ticket can show before its window).
    for _ in 0..100 {
        let page = desk.expect(200, "GET", "/api/v1/tickets?q=channel:whatsapp", &admin, None).await;
        if let Some(ticket) = page["items"].as_array().and_then(|items| items.first().cloned()) {
            let full = desk.expect(200, "GET", &format!("/api/v1/tickets/{}", ticket["id"]), &admin, None).await;
            if full["window"]["state"] == "open" {
                return ticket;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the WhatsApp message did not become a ticket with an open window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_logs_in_only_after_its_emailed_code() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        let users_before = user_count(&desk).await;
        let body = json!({"email": "New@Example.com", "name": "Nina New", "password": NEW_PASSWORD});
        let (status, sent) = post(&desk, "/api/v1/auth/register", None, body).await;
        assert_eq!((status, &sent), (202, &json!({"status": "sent", "expires_in": 3600})));
        assert_eq!(user_count(&desk).await, users_before, "nothing is written before the code");
        // Unverified: the right password says so; a wrong one is just wrong.
        let (status, refused) = login_status(&desk, "new@example.com", NEW_PASSWORD).await;
        assert_error((status, &refused), 403, "email_unverified");
        let (status, refused) = login_status(&desk, "new@example.com", "not-the-password").await;
        assert_error((status, &refused), 401, "invalid_credentials");

        let code = mailed_code(&desk, "new@example.com").await;
        let (status, refused) =
            post(&desk, "/api/v1/auth/verify", None, json!({"email": "new@example.com", "code": wrong(&code)})).await;
        assert_error((status, &refused), 422, "invalid_code");
        let (status, refused) =
            post(&desk, "/api/v1/auth/verify", None, json!({"email": "other@example.com", "code": code})).await;
        assert_error((status, &refused), 422, "invalid_code");
        assert_eq!(user_count(&desk).await, users_before, "refused codes write nothing");

        let (status, verified) =
            post(&desk, "/api/v1/auth/verify", None, json!({"email": "new@example.com", "code": code})).await;
        assert_eq!(status, 200, "{verified}");
        assert_eq!(verified["user"]["role"], "customer");
        assert_eq!(verified["user"]["name"], "Nina New");
        let token = verified["token"].as_str().expect("token");
        assert_eq!(desk.expect(200, "GET", "/api/v1/me", token, None).await["email"], "new@example.com");
        // Single use.
        let (status, refused) =
            post(&desk, "/api/v1/auth/verify", None, json!({"email": "new@example.com", "code": code})).await;
        assert_error((status, &refused), 422, "invalid_code");
        assert_eq!(user_count(&desk).await, users_before + 1);
        let (status, logged) = login_status(&desk, "new@example.com", NEW_PASSWORD).await;
        assert_eq!(status, 200, "{logged}");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_taken_address_changes_nothing_and_answers_the_same() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        let users_before = user_count(&desk).await;
        let expected = json!({"status": "sent", "expires_in": 3600});
        // Staff, and a customer who has a password: the same answer as a new address.
        for email in ["agent@test.example", "cust@test.example"] {
            let body = json!({"email": email, "name": "Mallory", "password": NEW_PASSWORD});
            let (status, sent) = post(&desk, "/api/v1/auth/register", None, body).await;
            assert_eq!((status, &sent), (202, &expected), "{email}");
            // The owner is told; no code exists to be guessed, and nothing moved.
            let told = mails(&desk, email).await;
            assert_eq!(told.len(), 1, "{told:?}");
            assert_eq!(told[0]["subject"], "You already have an account");
            for code in ["000000", "123456"] {
                let (status, refused) =
                    post(&desk, "/api/v1/auth/verify", None, json!({"email": email, "code": code})).await;
                assert_error((status, &refused), 422, "invalid_code");
            }
            let (status, refused) = login_status(&desk, email, NEW_PASSWORD).await;
            assert_error((status, &refused), 401, "invalid_credentials");
            assert_eq!(login_status(&desk, email, PASSWORD).await.0, 200, "{email} keeps their password");
        }
        assert_eq!(user_count(&desk).await, users_before);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_becomes_the_existing_profile_of_its_address_with_its_tickets() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        let (admin, agent) = desk.staff().await;
        // Known from an email ticket: a profile without a password.
        let body = json!({"email": "pat@example.com", "name": "Pat", "role": "customer"});
        let pat = desk.expect(201, "POST", "/api/v1/users", &admin, Some(body)).await;
        let ticket = desk
            .create_ticket(&agent, json!({"subject": "Earlier mail", "body": "Hello", "requester_id": id_of(&pat)}))
            .await;
        let users_before = user_count(&desk).await;
        let body = json!({"email": "pat@example.com", "name": "Pat Jones", "password": NEW_PASSWORD});
        assert_eq!(post(&desk, "/api/v1/auth/register", None, body).await.0, 202);
        let code = mailed_code(&desk, "pat@example.com").await;
        let (status, verified) =
            post(&desk, "/api/v1/auth/verify", None, json!({"email": "pat@example.com", "code": code})).await;
        assert_eq!(status, 200, "{verified}");
        assert_eq!(verified["user"]["id"], pat["id"], "no duplicate: the profile is theirs");
        assert_eq!(verified["user"]["name"], "Pat Jones");
        assert_eq!(user_count(&desk).await, users_before);
        let token = verified["token"].as_str().expect("token");
        assert_eq!(desk.list_ids(token, "").await, vec![id_of(&ticket)], "their earlier ticket is theirs");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_codes_work_once_for_ten_minutes_and_die_after_five_wrong_tries() {
    for backend in backends() {
        let (desk, clock) = desk_on(backend).await;
        let ask = json!({"email": "cust@test.example"});
        let expected = json!({"status": "sent", "expires_in": 600});
        let (status, sent) = post(&desk, "/api/v1/auth/code", None, ask.clone()).await;
        assert_eq!((status, &sent), (202, &expected));
        let code = mailed_code(&desk, "cust@test.example").await;
        for _ in 0..5 {
            let body = json!({"email": "cust@test.example", "code": wrong(&code)});
            let (status, refused) = post(&desk, "/api/v1/auth/code/verify", None, body).await;
            assert_error((status, &refused), 422, "invalid_code");
        }
        let right = json!({"email": "cust@test.example", "code": code});
        let (status, refused) = post(&desk, "/api/v1/auth/code/verify", None, right).await;
        assert_error((status, &refused), 422, "invalid_code");

        // A new code expires after 10 minutes.
        assert_eq!(post(&desk, "/api/v1/auth/code", None, ask.clone()).await.0, 202);
        let code = mailed_code(&desk, "cust@test.example").await;
        clock.advance(jiff::SignedDuration::from_mins(10));
        let (status, refused) =
            post(&desk, "/api/v1/auth/code/verify", None, json!({"email": "cust@test.example", "code": code})).await;
        assert_error((status, &refused), 422, "invalid_code");

        // A fresh one logs in, once, with the login answer.
        assert_eq!(post(&desk, "/api/v1/auth/code", None, ask.clone()).await.0, 202);
        let code = mailed_code(&desk, "cust@test.example").await;
        let right = json!({"email": "CUST@Test.example", "code": format!(" {code} ")});
        let (status, logged) = post(&desk, "/api/v1/auth/code/verify", None, right.clone()).await;
        assert_eq!(status, 200, "{logged}");
        assert_eq!(logged["user"]["id"], json!(desk.seeded.customer.id));
        assert!(logged["token"].as_str().is_some_and(|token| token.len() >= 20));
        let (status, refused) = post(&desk, "/api/v1/auth/code/verify", None, right).await;
        assert_error((status, &refused), 422, "invalid_code");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_addresses_get_the_same_answer_and_no_code() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        for path in ["/api/v1/auth/code", "/api/v1/auth/forgot"] {
            let known = post(&desk, path, None, json!({"email": "cust@test.example"})).await;
            let unknown = post(&desk, path, None, json!({"email": "nobody@example.com"})).await;
            assert_eq!(known, unknown, "{path}");
            assert_eq!(known.0, 202);
        }
        // Staff log in with their password: no code for them, the same answer.
        let staff = post(&desk, "/api/v1/auth/code", None, json!({"email": "agent@test.example"})).await;
        let unknown_phone = post(&desk, "/api/v1/auth/code", None, json!({"phone": "+1 555 0100 999"})).await;
        assert_eq!(staff, unknown_phone);
        assert!(mails(&desk, "nobody@example.com").await.is_empty());
        assert!(mails(&desk, "agent@test.example").await.is_empty());
        assert!(phone(&desk, "15550100999").await.is_empty());
        assert_eq!(mails(&desk, "cust@test.example").await.len(), 2, "a code and a link");
        let body = json!({"email": "nobody@example.com", "code": "123456"});
        let (status, refused) = post(&desk, "/api/v1/auth/code/verify", None, body).await;
        assert_error((status, &refused), 422, "invalid_code");
        // Both or neither of email and phone is refused.
        let (status, refused) =
            post(&desk, "/api/v1/auth/code", None, json!({"email": "a@example.com", "phone": "+15550100999"})).await;
        assert_error((status, &refused), 422, "validation_failed");
        let (status, refused) = post(&desk, "/api/v1/auth/code", None, json!({"phone": "12ab"})).await;
        assert_invalid((status, &refused), "phone");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_requests_are_rate_limited_per_address_and_per_client() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        // Per address: three at once, then a wait, known or not.
        for email in ["cust@test.example", "nobody@example.com"] {
            for _ in 0..3 {
                assert_eq!(post(&desk, "/api/v1/auth/code", None, json!({"email": email})).await.0, 202);
            }
            let limited = desk
                .raw(
                    "POST",
                    "/api/v1/auth/code",
                    &[("content-type", "application/json")],
                    Some(json!({"email": email}).to_string().into_bytes()),
                )
                .await;
            assert_error((limited.status, &limited.body), 429, "rate_limited");
            let forgot = post(&desk, "/api/v1/auth/forgot", None, json!({"email": email})).await;
            assert_error((forgot.0, &forgot.1), 429, "rate_limited");
        }
        assert_eq!(mails(&desk, "cust@test.example").await.len(), 3, "the limited requests sent nothing");
        // Per client: ten sends in all (6 above), whatever the addresses (one more a minute).
        for n in 0..4 {
            let email = format!("someone{n}@example.com");
            assert_eq!(post(&desk, "/api/v1/auth/code", None, json!({"email": email})).await.0, 202);
        }
        let (status, refused) = post(&desk, "/api/v1/auth/code", None, json!({"email": "fresh@example.com"})).await;
        assert_error((status, &refused), 429, "rate_limited");
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_link_works_once_for_thirty_minutes_and_ends_every_session() {
    for backend in backends() {
        let (desk, clock) = desk_on(backend).await;
        let first = desk.login("cust@test.example").await;
        let second = desk.login("cust@test.example").await;
        let link = |mail: &Value| {
            let text = mail["text"].as_str().expect("text");
            let at = text.find("token=").expect("a link with a token") + "token=".len();
            text[at..].split_whitespace().next().expect("token").to_owned()
        };
        assert_eq!(post(&desk, "/api/v1/auth/forgot", None, json!({"email": "cust@test.example"})).await.0, 202);
        let token = link(mails(&desk, "cust@test.example").await.last().expect("a mail"));
        // An expired link.
        clock.advance(jiff::SignedDuration::from_mins(30));
        let (status, refused) =
            post(&desk, "/api/v1/auth/reset", None, json!({"token": token, "password": NEW_PASSWORD})).await;
        assert_error((status, &refused), 422, "invalid_token");
        assert_eq!(desk.server.call("GET", "/api/v1/me", Some(&first), None).await.0, 200, "nothing changed");

        assert_eq!(post(&desk, "/api/v1/auth/forgot", None, json!({"email": "cust@test.example"})).await.0, 202);
        let token = link(mails(&desk, "cust@test.example").await.last().expect("a mail"));
        for bad in ["not-a-token", &format!("{token}x")] {
            let (status, refused) =
                post(&desk, "/api/v1/auth/reset", None, json!({"token": bad, "password": NEW_PASSWORD})).await;
            assert_error((status, &refused), 422, "invalid_token");
        }
        let (status, refused) =
            post(&desk, "/api/v1/auth/reset", None, json!({"token": token, "password": "short"})).await;
        assert_invalid((status, &refused), "password");
        let (status, reset) =
            post(&desk, "/api/v1/auth/reset", None, json!({"token": token, "password": NEW_PASSWORD})).await;
        assert_eq!(status, 200, "{reset}");
        let fresh = reset["token"].as_str().expect("a new session");
        for old in [&first, &second] {
            let (status, refused) = desk.server.call("GET", "/api/v1/me", Some(old), None).await;
            assert_error((status, &refused), 401, "unauthenticated");
        }
        assert_eq!(desk.server.call("GET", "/api/v1/me", Some(fresh), None).await.0, 200);
        let (status, refused) =
            post(&desk, "/api/v1/auth/reset", None, json!({"token": token, "password": "yet-another-one"})).await;
        assert_error((status, &refused), 422, "invalid_token");
        assert_eq!(login_status(&desk, "cust@test.example", NEW_PASSWORD).await.0, 200);
        assert_eq!(login_status(&desk, "cust@test.example", PASSWORD).await.0, 401);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_customer_logs_in_by_a_code_on_their_phone() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        let ticket = whatsapp_customer_writes(&desk, WA_NUMBER, "My order is late").await;
        let (status, sent) = post(&desk, "/api/v1/auth/code", None, json!({"phone": "+55 11 98765-4321"})).await;
        assert_eq!((status, &sent), (202, &json!({"status": "sent", "expires_in": 600})));
        // They just wrote: inside the window the code is a plain text message.
        let (code, text) = phoned_code(&desk, WA_NUMBER).await;
        assert!(text.starts_with(&code) && !text.contains("[template"), "{text}");
        let (status, refused) =
            post(&desk, "/api/v1/auth/code/verify", None, json!({"phone": WA_NUMBER, "code": wrong(&code)})).await;
        assert_error((status, &refused), 422, "invalid_code");
        let (status, logged) =
            post(&desk, "/api/v1/auth/code/verify", None, json!({"phone": WA_NUMBER, "code": code})).await;
        assert_eq!(status, 200, "{logged}");
        assert_eq!(logged["user"]["id"], ticket["requester_id"]);
        let token = logged["token"].as_str().expect("token");
        assert_eq!(desk.list_ids(token, "").await, vec![id_of(&ticket)]);
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifying_a_whatsapp_number_makes_its_profile_and_tickets_the_customers() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        let (_, agent) = desk.staff().await;
        let whatsapp_ticket = whatsapp_customer_writes(&desk, WA_NUMBER, "Where is my parcel?").await;
        // The same person registers by email and opens an email ticket first.
        let body = json!({"email": "wanda@example.com", "name": "Wanda", "password": NEW_PASSWORD});
        assert_eq!(post(&desk, "/api/v1/auth/register", None, body).await.0, 202);
        let code = mailed_code(&desk, "wanda@example.com").await;
        let verified =
            post(&desk, "/api/v1/auth/verify", None, json!({"email": "wanda@example.com", "code": code})).await.1;
        let old_token = verified["token"].as_str().expect("token").to_owned();
        let registered_id = id_of(&verified["user"]);
        let email_ticket = desk
            .create_ticket(&agent, json!({"subject": "By mail", "body": "Hi", "requester_id": registered_id}))
            .await;

        // Staff cannot verify a number as a customer profile.
        let (status, refused) = post(&desk, "/api/v1/me/whatsapp", Some(&agent), json!({"phone": WA_NUMBER})).await;
        assert_error((status, &refused), 403, "forbidden");
        let (status, sent) = post(&desk, "/api/v1/me/whatsapp", Some(&old_token), json!({"phone": WA_NUMBER})).await;
        assert_eq!(status, 202, "{sent}");
        let (code, _) = phoned_code(&desk, WA_NUMBER).await;
        let body = json!({"phone": WA_NUMBER, "code": wrong(&code)});
        let (status, refused) = post(&desk, "/api/v1/me/whatsapp/verify", Some(&old_token), body).await;
        assert_error((status, &refused), 422, "invalid_code");
        // Another customer cannot use the code sent for Wanda.
        let other = desk.login("other@test.example").await;
        let body = json!({"phone": WA_NUMBER, "code": code});
        let (status, refused) = post(&desk, "/api/v1/me/whatsapp/verify", Some(&other), body.clone()).await;
        assert_error((status, &refused), 422, "invalid_code");

        let (status, merged) = post(&desk, "/api/v1/me/whatsapp/verify", Some(&old_token), body).await;
        assert_eq!(status, 200, "{merged}");
        assert_eq!(merged["user"]["id"], whatsapp_ticket["requester_id"], "they became the WhatsApp profile");
        assert_eq!(merged["user"]["email"], "wanda@example.com");
        assert_eq!(merged["user"]["phone"], WA_NUMBER);
        let token = merged["token"].as_str().expect("a new session");
        let (status, refused) = desk.server.call("GET", "/api/v1/me", Some(&old_token), None).await;
        assert_error((status, &refused), 401, "unauthenticated");
        let mine = sorted(desk.list_ids(token, "").await);
        assert_eq!(mine, sorted(vec![id_of(&whatsapp_ticket), id_of(&email_ticket)]), "both tickets are theirs");
        let events = desk.events(&agent, id_of(&email_ticket), 0).await;
        assert!(event_types(&events).contains(&"requester_changed"), "{events:?}");
        // The password and the email log in to the merged profile.
        let (status, logged) = login_status(&desk, "wanda@example.com", NEW_PASSWORD).await;
        assert_eq!((status, &logged["user"]["id"]), (200, &merged["user"]["id"]));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_number_is_verified_with_the_template_and_its_messages_are_the_customers() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        let customer = desk.login("cust@test.example").await;
        let (status, _) =
            post(&desk, "/api/v1/me/whatsapp", Some(&customer), json!({"phone": "+1 (555) 010-0777"})).await;
        assert_eq!(status, 202);
        // No window with this number: the code goes out as the authentication template.
        let (code, text) = phoned_code(&desk, "15550100777").await;
        assert!(text.starts_with("[template verification_code]"), "{text}");
        let body = json!({"phone": "15550100777", "code": code});
        let (status, verified) = post(&desk, "/api/v1/me/whatsapp/verify", Some(&customer), body.clone()).await;
        assert_eq!(status, 200, "{verified}");
        assert_eq!(verified["user"]["id"], json!(desk.seeded.customer.id));
        assert_eq!(verified["user"]["phone"], "15550100777");
        assert!(verified.get("token").is_none(), "{verified}");
        let (status, refused) = post(&desk, "/api/v1/me/whatsapp/verify", Some(&customer), body).await;
        assert_error((status, &refused), 422, "invalid_code");
        // What the number writes now is this customer's.
        let ticket = whatsapp_customer_writes(&desk, "15550100777", "Hello from my phone").await;
        assert_eq!(ticket["requester_id"], json!(desk.seeded.customer.id));
        desk.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_of_an_account_with_a_password_is_never_taken_over() {
    for backend in backends() {
        let (desk, _) = desk_on(backend).await;
        let first = desk.login("cust@test.example").await;
        let body = json!({"phone": "15550100777"});
        assert_eq!(post(&desk, "/api/v1/me/whatsapp", Some(&first), body.clone()).await.0, 202);
        let (code, _) = phoned_code(&desk, "15550100777").await;
        let verify = json!({"phone": "15550100777", "code": code});
        assert_eq!(post(&desk, "/api/v1/me/whatsapp/verify", Some(&first), verify).await.0, 200);
        // Another account (with a password) holding the phone cannot take the number's profile.
        let other = desk.login("other@test.example").await;
        assert_eq!(post(&desk, "/api/v1/me/whatsapp", Some(&other), body).await.0, 202);
        let (code, _) = phoned_code(&desk, "15550100777").await;
        let verify = json!({"phone": "15550100777", "code": code});
        let (status, refused) = post(&desk, "/api/v1/me/whatsapp/verify", Some(&other), verify.clone()).await;
        assert_error((status, &refused), 409, "phone_in_use");
        assert_eq!(desk.server.call("GET", "/api/v1/me", Some(&other), None).await.0, 200, "nothing changed");
        assert_eq!(desk.server.call("GET", "/api/v1/me", Some(&first), None).await.0, 200);
        desk.stop().await;
    }
}
