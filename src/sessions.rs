//! Who a session token belongs to, for every transport (REST, WebSocket, the staff-only tools):
//! the one place a token becomes a user and a customer becomes the tickets they may see.

use std::sync::Arc;

use switchboard_actors::clock::Clock;
use switchboard_actors::companies::CompaniesPort;
use switchboard_actors::domain::User;
use switchboard_actors::store::{SessionsPort, Store, TicketScope};

use crate::error::ApiError;

pub struct Sessions {
    sessions: Arc<dyn SessionsPort>,
    companies: Arc<dyn CompaniesPort>,
    clock: Arc<dyn Clock>,
}

impl Sessions {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Sessions {
        Sessions { sessions: store.clone(), companies: store, clock }
    }

    /// The user of a live session token.
    pub async fn authenticate(&self, token: Option<String>) -> Result<User, ApiError> {
        let token = token.filter(|token| !token.is_empty()).ok_or(ApiError::Unauthenticated)?;
        let token_hash = crate::auth::token_hash(&token);
        self.sessions.session_user(&token_hash, self.clock.now()).await?.ok_or(ApiError::Unauthenticated)
    }

    /// Which tickets a customer may see: their own, or their company's when it shares.
    pub async fn customer_scope(&self, user: &User) -> Result<TicketScope, ApiError> {
        if let Some(company_id) = user.company_id
            && let Some(company) = self.companies.company(user.account_id, company_id).await?
            && company.members_see_company_tickets
        {
            return Ok(TicketScope::RequesterOrCompany(user.id, company_id));
        }
        Ok(TicketScope::Requester(user.id))
    }
}
