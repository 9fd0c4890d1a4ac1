//! Data protection (issue 17 item 7), the server's half: a customer's export as a zip file
//! ([`DataProtection::export`]), their erasure ([`DataProtection::erase`]) and, in
//! [`retention`], the daily sweep archiving and deleting an account's closed tickets. The pure
//! rules (what erasure does to each stored shape, the retention policy) are
//! `switchboard_actors::gdpr`.
//!
//! Erasure's order: the customer's WhatsApp conversations are forgotten on this node first (their
//! actors stop, so nothing in memory writes a number back), then each ticket's own actor rewrites
//! its subject, events and messages (`Tickets::erase`: in the actor, so no command's commit
//! writes the old subject back, and the log keeps its seqs and positions), then one store
//! transaction erases the rest (`GdprPort::erase_customer`), and last the files nobody points at
//! any more leave the file store. Each step is idempotent, so an erasure cut short by a crash is
//! finished by running it again.

pub mod retention;

use std::io::Write as _;
use std::sync::Arc;

use serde::Serialize;
use switchboard_actors::domain::*;
use switchboard_actors::gdpr::{CustomerErasure, MIN_SEARCHED_TEXT, needles_of};
use switchboard_actors::store::Store;
use switchboard_actors::ticket::Tickets;
use switchboard_actors::whatsapp::conversation::Conversations;

use crate::channels::whatsapp::media::MediaStore;
use crate::error::{ApiError, ErrorCode};

/// What the export and the erasure need: the store, the tickets' actors, the WhatsApp
/// conversations and the file store.
pub struct DataProtection {
    store: Arc<dyn Store>,
    tickets: Tickets,
    conversations: Conversations,
    media: MediaStore,
}

/// What an erasure did, for the audit log and the answer (counts only: nothing personal).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub customer_id: UserId,
    /// Tickets whose subject, messages and events were erased (they stay, and reports count them).
    pub tickets: usize,
    /// Stored files deleted.
    pub files: usize,
}

#[derive(Serialize)]
struct ExportedProfile<'a> {
    user: &'a User,
    contacts: &'a [Contact],
}

#[derive(Serialize)]
struct ExportedTicket {
    #[serde(flatten)]
    ticket: Ticket,
    archived_at: Option<jiff::Timestamp>,
}

/// A zip entry's name for a stored file: its hash, then the file name it came with, cut to
/// letters, digits, dots and dashes (so no name can climb out of the folder when unpacked).
fn entry_name(hash: &str, file_name: &str) -> String {
    let safe: String = file_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '_' })
        .take(80)
        .collect();
    let safe = safe.trim_start_matches('.');
    format!("attachments/{hash}-{safe}")
}

impl DataProtection {
    pub fn new(
        store: Arc<dyn Store>,
        tickets: Tickets,
        conversations: Conversations,
        media: MediaStore,
    ) -> DataProtection {
        DataProtection { store, tickets, conversations, media }
    }

    /// The account's customer `id`: 404 for no one (or another account's), 422 for staff.
    pub async fn customer(&self, account: AccountId, id: UserId) -> Result<User, ApiError> {
        let user = self.store.user(account, id).await?.ok_or(ApiError::NotFound("customer"))?;
        if user.role != Role::Customer {
            return Err(ApiError::Unprocessable {
                code: ErrorCode::NotACustomer,
                message: "export and erasure are for customers; staff are changed on the users page".to_owned(),
            });
        }
        Ok(user)
    }

    /// The customer's data as a zip file: `profile.json` (the profile and its addresses),
    /// `tickets.json` (every ticket they requested, archived ones too), `messages.json` (their
    /// tickets' public messages: internal notes are the team's own work and stay out),
    /// `csat.json` (their surveys with scores and comments) and `attachments/` (the files of
    /// those messages). Built in memory: one customer's data, bounded by their tickets.
    pub async fn export(&self, customer: &User) -> Result<Vec<u8>, ApiError> {
        let account = customer.account_id;
        let contacts = self.store.contacts(account, customer.id).await?;
        let mut tickets = Vec::new();
        let mut messages = Vec::new();
        for id in self.store.customer_ticket_ids(account, customer.id).await? {
            let Some(ticket) = self.store.ticket(id).await? else { continue };
            let archived_at = self.store.ticket_archived_at(id).await?;
            let thread = self.store.ticket_messages(id).await?;
            messages.extend(thread.into_iter().filter(|message| message.kind != MessageKind::Note));
            tickets.push(ExportedTicket { ticket, archived_at });
        }
        let surveys = self.store.customer_surveys(account, customer.id).await?;
        let mut files = Vec::new();
        for message in &messages {
            for attachment in &message.attachments {
                let Some(hash) = attachment.url.rsplit('/').next() else { continue };
                if files.iter().any(|(name, _): &(String, Vec<u8>)| name.contains(hash)) {
                    continue;
                }
                if let Some((bytes, _)) = self.media.get(hash).await {
                    files.push((entry_name(hash, &attachment.file_name), bytes));
                }
            }
        }
        let encode = |result: serde_json::Result<Vec<u8>>| {
            result.map_err(|error| ApiError::Internal(format!("encoding the export: {error}")))
        };
        let mut written = vec![
            (
                "profile.json".to_owned(),
                encode(serde_json::to_vec_pretty(&ExportedProfile { user: customer, contacts: &contacts }))?,
            ),
            ("tickets.json".to_owned(), encode(serde_json::to_vec_pretty(&tickets))?),
            ("messages.json".to_owned(), encode(serde_json::to_vec_pretty(&messages))?),
            ("csat.json".to_owned(), encode(serde_json::to_vec_pretty(&surveys))?),
        ];
        written.extend(files);
        tokio::task::spawn_blocking(move || zip_of(written))
            .await
            .map_err(|error| ApiError::Internal(format!("building the export: {error}")))?
    }

    /// Erases the customer (see the module's doc for the order). Irreversible.
    pub async fn erase(&self, customer: &User) -> Result<Erased, ApiError> {
        let account = customer.account_id;
        let addresses: Vec<String> =
            self.store.contacts(account, customer.id).await?.into_iter().map(|contact| contact.address).collect();
        let needles = needles_of(customer, &addresses);
        self.conversations.forget_customer(customer.id);
        let ticket_ids = self.store.customer_ticket_ids(account, customer.id).await?;
        let mut texts = Vec::new();
        let mut files = Vec::new();
        for &id in &ticket_ids {
            for message in self.store.ticket_messages(id).await? {
                if message.body.chars().count() >= MIN_SEARCHED_TEXT && message.body != switchboard_actors::gdpr::ERASED
                {
                    texts.push(message.body);
                }
            }
            files.extend(self.tickets.erase(id).await?);
        }
        texts.sort();
        texts.dedup();
        files.sort();
        files.dedup();
        let erasure =
            CustomerErasure { account_id: account, customer_id: customer.id, tickets: ticket_ids, needles, texts };
        let gone = self.store.erase_customer(&erasure, &files).await?;
        let mut deleted = 0;
        for hash in &gone {
            match self.media.delete(hash).await {
                Ok(true) => deleted += 1,
                Ok(false) => {}
                Err(error) => tracing::error!(%error, hash, "an erased customer's file could not be deleted"),
            }
        }
        Ok(Erased { customer_id: customer.id, tickets: erasure.tickets.len(), files: deleted })
    }
}

/// The named entries as one zip file (deflated).
fn zip_of(entries: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, ApiError> {
    let fail = |error: &dyn std::fmt::Display| ApiError::Internal(format!("writing the export: {error}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for (name, bytes) in entries {
        zip.start_file(name, options).map_err(|error| fail(&error))?;
        zip.write_all(&bytes).map_err(|error| fail(&error))?;
    }
    Ok(zip.finish().map_err(|error| fail(&error))?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_keep_the_hash_and_never_leave_the_folder() {
        assert_eq!(entry_name("ab", "../../etc/passwd"), "attachments/ab-_.._etc_passwd");
        assert_eq!(entry_name("ab", "invoice 2026.pdf"), "attachments/ab-invoice_2026.pdf");
    }
}
