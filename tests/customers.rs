//! The one find-or-create customer by address both channels use (`switchboard_actors::customers`),
//! on SQLite and PostgreSQL: found, adopted, created once even when first messages race.

mod common;

use common::{Backend, TestDb};
use switchboard_actors::customers::{Customer, Found, SenderAddress, find_customer, find_or_create_customer};
use switchboard_actors::domain::*;
use switchboard_actors::store::NewUser;
use switchboard_actors::ticket::TicketError;

fn email_sender<'a>(account: AccountId, address: &'a [&'a str]) -> SenderAddress<'a> {
    SenderAddress {
        account,
        channel: Channel::Email,
        lookup: address,
        record: address,
        email: address[0],
        adopt_by_email: true,
        name: "Lia".to_owned(),
        phone: None,
    }
}

async fn email_senders_are_found_adopted_or_created(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let account = store.create_account("Customers").await.expect("account").id;
    let lia = ["lia@customer.example"];
    let created = find_or_create_customer(store.as_ref(), &email_sender(account, &lia)).await.expect("created");
    assert_eq!((created.found, created.user.role, created.user.name.as_str()), (Found::Created, Role::Customer, "Lia"));
    let again = find_or_create_customer(store.as_ref(), &email_sender(account, &lia)).await.expect("known");
    assert_eq!((again.found, again.user.id), (Found::Known, created.user.id));

    // Someone an agent added before they ever wrote: every user has their email as a contact,
    // so they are the sender.
    let added = NewUser::customer(account, "bo@customer.example".into(), "Bo".into(), None);
    let bo = store.create_user(added).await.expect("user");
    let known =
        find_or_create_customer(store.as_ref(), &email_sender(account, &["bo@customer.example"])).await.expect("known");
    assert_eq!((known.found, known.user.id), (Found::Known, bo.id));

    // The email is the installation's, contacts are the account's: an address of another
    // account's user is refused (by the email check), not taken over.
    let other = store.create_account("Other").await.expect("account").id;
    let refused = find_or_create_customer(store.as_ref(), &email_sender(other, &lia)).await;
    match refused {
        Err(TicketError::Invalid { field, message }) => {
            assert_eq!((field, message.as_str()), ("from", "`lia@customer.example` belongs to another account"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_senders_are_found_adopted_or_created_sqlite() {
    email_senders_are_found_adopted_or_created(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_senders_are_found_adopted_or_created_postgres() {
    email_senders_are_found_adopted_or_created(Backend::Postgres).await;
}

fn whatsapp_sender<'a>(account: AccountId, lookup: &'a [&'a str], record: &'a [&'a str]) -> SenderAddress<'a> {
    SenderAddress {
        account,
        channel: Channel::Whatsapp,
        lookup,
        record,
        email: "wa-15550001@whatsapp.invalid",
        adopt_by_email: false,
        name: "+15550001".to_owned(),
        phone: Some("+15550001".to_owned()),
    }
}

/// Five first messages at once (a burst, or several nodes): one customer, created once; the
/// others read it (the unique email decides).
async fn first_messages_at_once_make_one_customer(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let account = store.create_account("Burst").await.expect("account").id;
    let wa_id = ["15550001"];
    let sender = whatsapp_sender(account, &wa_id, &wa_id);
    let attempts = (0..5).map(|_| find_or_create_customer(store.as_ref(), &sender));
    let customers: Vec<Customer> =
        futures_util::future::join_all(attempts).await.into_iter().collect::<Result<_, _>>().expect("customers");
    let created = customers.iter().filter(|customer| customer.found == Found::Created).count();
    assert_eq!(created, 1, "{customers:?}");
    assert!(customers.iter().all(|customer| customer.user.id == customers[0].user.id), "{customers:?}");
    let found = store.customer_by_contact(account, Channel::Whatsapp, "15550001").await.expect("lookup");
    assert_eq!(found.map(|user| user.id), Some(customers[0].user.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_messages_at_once_make_one_customer_sqlite() {
    first_messages_at_once_make_one_customer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_messages_at_once_make_one_customer_postgres() {
    first_messages_at_once_make_one_customer(Backend::Postgres).await;
}

/// A customer first met by wa_id who now writes with a BSUID too is found by the wa_id (the
/// second lookup) and gets both identifiers; found by the key with one identifier, nothing is
/// written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_customer_is_found_by_wa_id_and_gets_the_bsuid() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let account = store.create_account("BSUID").await.expect("account").id;
    let first = find_or_create_customer(store.as_ref(), &whatsapp_sender(account, &["15550001"], &["15550001"]))
        .await
        .expect("created");
    assert_eq!(first.found, Found::Created);

    let bsuid = "US.13491208655302741918";
    assert_eq!(find_customer(store.as_ref(), account, Channel::Whatsapp, &[bsuid]).await.expect("lookup"), None);
    let both = [bsuid, "15550001"];
    let again = find_or_create_customer(store.as_ref(), &whatsapp_sender(account, &both, &both)).await.expect("known");
    assert_eq!((again.found, again.user.id), (Found::Known, first.user.id));
    let by_bsuid =
        find_customer(store.as_ref(), account, Channel::Whatsapp, &[bsuid, "15550001"]).await.expect("lookup");
    assert_eq!(by_bsuid.map(|(user, index)| (user.id, index)), Some((first.user.id, 0)), "the BSUID is recorded");
    let by_wa_id =
        find_customer(store.as_ref(), account, Channel::Whatsapp, &["nobody", "15550001"]).await.expect("lookup");
    assert_eq!(by_wa_id.map(|(user, index)| (user.id, index)), Some((first.user.id, 1)));
}
