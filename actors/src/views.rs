//! Saved views (DESIGN §6): a named query and sort, kept for its owner, a team, or the whole
//! account. The query is stored as written; the search service compiles it whenever the view is
//! counted or followed, so relative dates keep their meaning.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, Role, TeamId, User, UserId};
use crate::store::{StoreResult, TicketSort};

pub type ViewId = i64;

crate::domain::string_enum!(
    /// Who sees a view: its owner, one team's members, or every staff member of the account.
    ViewScope { Personal => "personal", Team => "team", Account => "account" }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedView {
    pub id: ViewId,
    pub account_id: AccountId,
    pub owner_id: UserId,
    pub name: String,
    /// In the query language, as written.
    pub query: String,
    pub sort: TicketSort,
    pub scope: ViewScope,
    /// The team a `team` view is shared with.
    pub team_id: Option<TeamId>,
    /// Order in the sidebar, lowest first.
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl SavedView {
    /// Whether `user` (staff) sees the view: their own, their teams', or the account's.
    pub fn visible_to(&self, user: &User) -> bool {
        user.account_id == self.account_id
            && user.role.is_staff()
            && match self.scope {
                ViewScope::Personal => self.owner_id == user.id,
                ViewScope::Team => {
                    matches!(user.role, Role::Admin | Role::Supervisor)
                        || self.team_id.is_some_and(|team| user.team_ids.contains(&team))
                }
                ViewScope::Account => true,
            }
    }

    /// Whether `user` may change or delete it: the owner of a personal view; supervisors and
    /// admins for shared ones.
    pub fn editable_by(&self, user: &User) -> bool {
        self.visible_to(user)
            && match self.scope {
                ViewScope::Personal => self.owner_id == user.id,
                ViewScope::Team | ViewScope::Account => matches!(user.role, Role::Admin | Role::Supervisor),
            }
    }
}

/// What a new view needs; `position` last when absent.
#[derive(Clone, Debug, PartialEq)]
pub struct NewView {
    pub account_id: AccountId,
    pub owner_id: UserId,
    pub name: String,
    pub query: String,
    pub sort: TicketSort,
    pub scope: ViewScope,
    pub team_id: Option<TeamId>,
    pub position: Option<i64>,
}

/// The whole of a view's editable state (a PATCH is merged into it first).
#[derive(Clone, Debug, PartialEq)]
pub struct ViewChange {
    pub name: String,
    pub query: String,
    pub sort: TicketSort,
    pub scope: ViewScope,
    pub team_id: Option<TeamId>,
    pub position: i64,
}

#[async_trait]
pub trait ViewsPort: Send + Sync {
    /// Every view of the account, by position then id (callers keep the ones a user may see).
    async fn list_views(&self, account: AccountId) -> StoreResult<Vec<SavedView>>;
    async fn view(&self, account: AccountId, id: ViewId) -> StoreResult<Option<SavedView>>;
    async fn create_view(&self, view: NewView) -> StoreResult<SavedView>;
    async fn update_view(&self, account: AccountId, id: ViewId, change: ViewChange) -> StoreResult<SavedView>;
    /// `NotFound` when there was none.
    async fn delete_view(&self, account: AccountId, id: ViewId) -> StoreResult<()>;
}
