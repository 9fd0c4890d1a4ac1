//! A customer verifies a WhatsApp number from their profile: a code goes to the number (text in
//! an open window, the template outside it), and once it checks out the number is theirs. When
//! another customer profile was known by that number (someone who wrote on WhatsApp before
//! registering), the two are one person: the registered account folds into that profile, which
//! the number's conversations and WhatsApp tickets already belong to, bringing its email,
//! password, contacts and tickets along (each ticket moved by its own actor, a
//! `requester_changed` event). The caller then continues as that profile, with a new session.
//!
//! A profile that has a password of its own is another account: it is never taken over
//! (`phone_in_use`). The ticket moves come first and are idempotent, then the profile change in
//! one transaction, then the moves once more for a ticket that arrived meanwhile: a crash
//! anywhere leaves every ticket with one requester, and verifying again finishes the job.

use std::collections::HashSet;
use std::net::IpAddr;

use switchboard_actors::customer_auth::{CodePurpose, Destination, ProfileMerge};
use switchboard_actors::domain::{Channel, Role, User, UserId};
use switchboard_actors::store::{StoreError, TicketQuery, TicketScope};
use switchboard_actors::ticket::{CommandContext, TicketCommand};

use super::{AccountError, CODE_TTL, CustomerAccounts, Sent};
use crate::live::SessionEnd;

/// Tickets moved per read while folding one profile into another.
const MOVE_PAGE: i64 = 200;

/// The outcome of a verified number.
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneVerified {
    /// Who the caller is now: themselves, or the profile they folded into.
    pub user: User,
    /// Whether the caller became another profile (their session ended; start a new one).
    pub merged: bool,
}

impl CustomerAccounts {
    /// Sends a verification code to `wa_id` for `caller`, a customer.
    pub async fn send_phone_code(&self, caller: &User, wa_id: &str, client: IpAddr) -> Result<Sent, AccountError> {
        if caller.role != Role::Customer {
            return Err(AccountError::NotACustomer);
        }
        let destination = Destination::Phone(wa_id.to_owned());
        self.admit_send(&destination, client)?;
        let owner = self.store.customer_by_contact(caller.account_id, Channel::Whatsapp, wa_id).await?;
        let mut template = self.code_template(CodePurpose::Phone, &destination, CODE_TTL);
        template.account_id = caller.account_id;
        template.user_id = Some(caller.id);
        let code = self.issue(template).await?;
        // The window that matters is the number's own conversation, whoever it is filed under.
        self.send_whatsapp_code(owner.map(|owner| owner.id), wa_id, &code).await?;
        Ok(Sent { expires_in: CODE_TTL.as_secs() })
    }

    /// Checks `typed` against the code sent to `wa_id` for `caller`; the number becomes theirs.
    pub async fn verify_phone(
        &self,
        caller: &User,
        wa_id: &str,
        typed: &str,
        client: IpAddr,
    ) -> Result<PhoneVerified, AccountError> {
        if caller.role != Role::Customer {
            return Err(AccountError::NotACustomer);
        }
        let destination = Destination::Phone(wa_id.to_owned());
        let attempt = self.admit_check(&destination, client)?;
        let account = caller.account_id;
        // What the number means is settled before the code is used, so a refusal uses nothing.
        let owner = self.store.customer_by_contact(account, Channel::Whatsapp, wa_id).await?;
        let into = match owner {
            Some(owner) if owner.id != caller.id => {
                let has_password = self
                    .store
                    .user_credentials(&owner.email)
                    .await?
                    .and_then(|found| found.password_hash)
                    .is_some_and(|hash| !hash.is_empty());
                if has_password || !owner.active {
                    return Err(AccountError::PhoneInUse);
                }
                let contacts = self.store.contacts(account, caller.id).await?;
                if contacts.iter().any(|contact| contact.channel == Channel::Whatsapp) {
                    return Err(AccountError::PhoneAlreadyVerified);
                }
                Some(owner)
            }
            _ => None,
        };
        self.redeem(CodePurpose::Phone, &destination, typed, |code| code.user_id == Some(caller.id)).await?;
        self.logins.succeeded(attempt);
        let Some(into) = into else {
            self.store.add_verified_phone(account, caller.id, wa_id).await?;
            let user = self.store.user(account, caller.id).await?.ok_or(StoreError::NotFound)?;
            return Ok(PhoneVerified { user, merged: false });
        };
        self.move_tickets(caller, into.id).await?;
        let merge = ProfileMerge { account_id: account, from: caller.id, into: into.id, phone: wa_id.to_owned() };
        let user = self.store.merge_profiles(&merge).await?;
        self.live.end_sessions(account, SessionEnd::User { user_id: caller.id, except: None });
        self.move_tickets(caller, into.id).await?;
        Ok(PhoneVerified { user, merged: true })
    }

    /// Files every ticket of `from` under `to`, each through its actor.
    async fn move_tickets(&self, from: &User, to: UserId) -> Result<(), AccountError> {
        let config = self.store.account_config(from.account_id).await.map(std::sync::Arc::new)?;
        let mut query = TicketQuery::new(from.account_id);
        query.scope = TicketScope::Requester(from.id);
        query.limit = MOVE_PAGE;
        query.include_archived = true;
        let mut moved = HashSet::new();
        loop {
            let ids = self.store.matching_ticket_ids(&query).await?;
            // A ticket read twice did not move (its actor says it is not `from`'s): stop there.
            let fresh: Vec<_> = ids.into_iter().filter(|id| moved.insert(*id)).collect();
            if fresh.is_empty() {
                return Ok(());
            }
            for id in fresh {
                let command = TicketCommand::ChangeRequester { from: from.id, to };
                self.tickets.execute(id, command, CommandContext::system(config.clone())).await?;
            }
        }
    }
}
