//! Companies: the rules of their email domains (which customers join a company on their own),
//! pure so they are tested without a store. A company's SLA tier is applied where a ticket opens
//! ([`crate::ticket::open_ticket`], through [`crate::domain::Priority::at_least`]).

use async_trait::async_trait;

use crate::domain::{AccountId, Company, CompanyId, Priority, User};
use crate::store::StoreResult;

/// A new company; `domains` already normalised ([`normalise_domain`]).
#[derive(Clone, Debug)]
pub struct NewCompany {
    pub account_id: AccountId,
    pub name: String,
    pub members_see_company_tickets: bool,
    pub members_write_company_tickets: bool,
    pub domains: Vec<String>,
    pub sla_tier: Option<Priority>,
}

/// Fields of a company an admin may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct CompanyPatch {
    pub name: Option<String>,
    pub members_see_company_tickets: Option<bool>,
    pub members_write_company_tickets: Option<bool>,
    /// Replaces the domains (normalised).
    pub domains: Option<Vec<String>>,
    pub sla_tier: Option<Option<Priority>>,
}

/// Companies and their domains. A domain belongs to at most one company of an account: taking
/// one another company holds is `Conflict("domain_taken <domain>")`, a taken name
/// `Conflict("company_exists")`.
#[async_trait]
pub trait CompaniesPort: Send + Sync + 'static {
    /// Creates the company; customers with a password account at one of its domains who belong
    /// to no company join it (see [`CompaniesPort::update_company`]).
    async fn create_company(&self, company: NewCompany) -> StoreResult<Company>;
    /// Changes the company. Customers at a domain it gains join it, in the same write, if they
    /// belong to no company and have a password account: a password is only set by a
    /// registration confirmed by a code sent to the address, a reset link sent there, or an
    /// admin. Profiles made by inbound email have none (anyone can send mail from any address).
    async fn update_company(&self, account: AccountId, id: CompanyId, patch: CompanyPatch) -> StoreResult<Company>;
    async fn company(&self, account: AccountId, id: CompanyId) -> StoreResult<Option<Company>>;
    /// By name, with member counts and domains.
    async fn list_companies(&self, account: AccountId) -> StoreResult<Vec<Company>>;
    /// Its active customers, by name.
    async fn company_members(&self, account: AccountId, id: CompanyId) -> StoreResult<Vec<User>>;
    /// Puts `user` in the company holding `domain` if they belong to none; answers the
    /// company they are in afterwards. For a customer who just proved the address.
    async fn join_company_by_domain(
        &self,
        account: AccountId,
        user: crate::domain::UserId,
        domain: &str,
    ) -> StoreResult<Option<CompanyId>>;
}

/// The SLA tier of a requester's company (`None` without a company or a tier): what a new
/// ticket's [`TicketDraft::minimum_priority`](crate::ticket::TicketDraft::minimum_priority) is,
/// read where the draft is built.
pub async fn sla_tier<S: CompaniesPort + ?Sized>(
    directory: &S,
    account: AccountId,
    company: Option<CompanyId>,
) -> StoreResult<Option<Priority>> {
    match company {
        Some(id) => Ok(directory.company(account, id).await?.and_then(|company| company.sla_tier)),
        None => Ok(None),
    }
}

/// Why a company domain is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{domain}` is not a domain name (like `example.com`): {reason}")]
pub struct InvalidDomain {
    pub domain: String,
    pub reason: &'static str,
}

/// The longest domain name DNS carries.
const MAX_DOMAIN_CHARS: usize = 253;
/// The longest label (between dots) DNS carries.
const MAX_LABEL_CHARS: usize = 63;

/// A company domain as stored: trimmed, lower case, without a leading `@` or trailing dot, and a
/// hostname of at least two labels (letters, digits and inner hyphens), so `com` or `*.acme.com`
/// cannot claim a whole address space.
pub fn normalise_domain(domain: &str) -> Result<String, InvalidDomain> {
    let normal = domain.trim().trim_start_matches('@').trim_end_matches('.').to_ascii_lowercase();
    let refuse = |reason| Err(InvalidDomain { domain: domain.trim().to_owned(), reason });
    if normal.is_empty() || normal.len() > MAX_DOMAIN_CHARS {
        return refuse("a domain has 1 to 253 characters");
    }
    let labels: Vec<&str> = normal.split('.').collect();
    if labels.len() < 2 {
        return refuse("a domain has at least two labels");
    }
    for label in &labels {
        if label.is_empty() || label.len() > MAX_LABEL_CHARS {
            return refuse("each label has 1 to 63 characters");
        }
        if !label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-') {
            return refuse("only letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return refuse("a label neither starts nor ends with a hyphen");
        }
    }
    if labels.last().is_some_and(|top| top.bytes().all(|byte| byte.is_ascii_digit())) {
        return refuse("an IP address is not a domain");
    }
    Ok(normal)
}

/// The domain of an email address, lower case (`None` without an `@`).
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.trim_end_matches('.').to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_hostnames() {
        assert_eq!(normalise_domain(" @Acme.COM. ").as_deref(), Ok("acme.com"));
        assert_eq!(normalise_domain("mail.acme-corp.co.uk").as_deref(), Ok("mail.acme-corp.co.uk"));
        for bad in ["", "com", "acme..com", "-acme.com", "acme-.com", "ac me.com", "*.acme.com", "a@b.com", "10.0.0.1"]
        {
            assert!(normalise_domain(bad).is_err(), "{bad} was accepted");
        }
        let long = format!("{}.com", "a".repeat(64));
        assert!(normalise_domain(&long).is_err());
    }

    #[test]
    fn an_email_domain_is_the_part_after_the_last_at() {
        assert_eq!(email_domain("Lia@Acme.com").as_deref(), Some("acme.com"));
        assert_eq!(email_domain("no-at-sign"), None);
        assert_eq!(email_domain("trailing@"), None);
    }

    #[test]
    fn the_sla_tier_raises_a_new_ticket_but_never_lowers_it() {
        assert_eq!(Priority::Low.at_least(Some(Priority::High)), Priority::High);
        assert_eq!(Priority::Urgent.at_least(Some(Priority::Medium)), Priority::Urgent);
        assert_eq!(Priority::Medium.at_least(Some(Priority::Medium)), Priority::Medium);
        assert_eq!(Priority::Low.at_least(None), Priority::Low);
    }
}
