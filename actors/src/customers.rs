//! Customers by channel address: the one find-or-create both channels use when someone writes.
//! A channel says how it names a sender (which addresses to look up, in what order, what to
//! record, the new customer's login email); this module owns the order of the reads and the
//! race of two first messages at once (the store's unique email decides: the loser reads the
//! winner's customer and records its addresses on them).

use crate::domain::{AccountId, Channel, User};
use crate::store::{DirectoryPort, NewUser, StoreError};
use crate::ticket::TicketError;

/// A sender as a channel names them.
#[derive(Clone, Debug)]
pub struct SenderAddress<'a> {
    pub account: AccountId,
    pub channel: Channel,
    /// The addresses the customer may already be known by on `channel`, looked up in order, the
    /// channel's key first (WhatsApp: the BSUID, else the wa_id, then the wa_id; email: the
    /// normalised address).
    pub lookup: &'a [&'a str],
    /// The addresses recorded on `channel` for this customer: with a new customer (in the same
    /// write), and on a known one unless it was found by `lookup[0]` and this names one address
    /// only (WhatsApp: both identifiers are recorded the first time either is seen).
    pub record: &'a [&'a str],
    /// A new customer's login email, unique in the installation: the address itself for email,
    /// a placeholder in the reserved `.invalid` domain for WhatsApp.
    pub email: &'a str,
    /// Whether a user who already has `email` (added by an agent, or signed up) is this sender
    /// before any customer is created (email: yes; a WhatsApp placeholder is never anyone's).
    pub adopt_by_email: bool,
    /// A new customer's name and phone.
    pub name: String,
    pub phone: Option<String>,
}

/// How the customer was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// Already known by one of the lookup addresses.
    Known,
    /// A user with the sender's email, who now has the address as a contact.
    Adopted,
    /// Created by this call.
    Created,
    /// Created at the same moment by someone else (another node, a concurrent delivery): read
    /// again, with the addresses recorded.
    CreatedConcurrently,
}

/// The customer a sender is, and how they were found.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub user: User,
    pub found: Found,
}

/// The customer known by one of `lookup` on `channel`, with the index of the address that
/// found them.
pub async fn find_customer(
    store: &dyn DirectoryPort,
    account: AccountId,
    channel: Channel,
    lookup: &[&str],
) -> Result<Option<(User, usize)>, StoreError> {
    for (index, address) in lookup.iter().enumerate() {
        if let Some(user) = store.customer_by_contact(account, channel, address).await? {
            return Ok(Some((user, index)));
        }
    }
    Ok(None)
}

/// The customer `sender` is: found by address, adopted by email, or created (with their
/// addresses, in one write). Two first messages at once both try to create; the store's unique
/// email refuses the second, which reads the first's customer. A user of another account
/// holding the email is refused (`from`).
pub async fn find_or_create_customer(
    store: &dyn DirectoryPort,
    sender: &SenderAddress<'_>,
) -> Result<Customer, TicketError> {
    let SenderAddress { account, channel, lookup, record, email, .. } = *sender;
    if let Some((user, index)) = find_customer(store, account, channel, lookup).await? {
        let known_by_key = index == 0 && record.len() < 2;
        if !known_by_key {
            record_addresses(store, sender, &user).await?;
        }
        return Ok(Customer { user, found: Found::Known });
    }
    if sender.adopt_by_email
        && let Some(credentials) = store.user_credentials(email).await?
    {
        let user = same_account(sender, Some(credentials.user))?;
        record_addresses(store, sender, &user).await?;
        return Ok(Customer { user, found: Found::Adopted });
    }
    let new = NewUser::customer(account, email.to_owned(), sender.name.clone(), sender.phone.clone());
    match store.create_customer(new, channel, record).await {
        Ok(user) => Ok(Customer { user, found: Found::Created }),
        // Created concurrently (another node, an earlier attempt): read it.
        Err(StoreError::Conflict(_)) => {
            let credentials = store.user_credentials(email).await?;
            let user = same_account(sender, credentials.map(|credentials| credentials.user))?;
            record_addresses(store, sender, &user).await?;
            Ok(Customer { user, found: Found::CreatedConcurrently })
        }
        Err(error) => Err(error.into()),
    }
}

/// `user` when they belong to the sender's account; a user that vanished after the conflict
/// that named them is worth another try.
fn same_account(sender: &SenderAddress<'_>, user: Option<User>) -> Result<User, TicketError> {
    let user = user.ok_or_else(|| TicketError::Store(StoreError::Unavailable("customer vanished".to_owned())))?;
    if user.account_id != sender.account {
        let address = sender.lookup.first().copied().unwrap_or(sender.email);
        return Err(TicketError::invalid("from", format!("`{address}` belongs to another account")));
    }
    Ok(user)
}

async fn record_addresses(
    store: &dyn DirectoryPort,
    sender: &SenderAddress<'_>,
    user: &User,
) -> Result<(), StoreError> {
    for address in sender.record {
        store.add_contact(sender.account, user.id, sender.channel, address).await?;
    }
    Ok(())
}
