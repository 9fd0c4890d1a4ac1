//! The knowledge base (issue 14 item 3): categories nested one level, and articles written in
//! markdown whose translations (one per locale) share the article's id. Each translation has its
//! own title, body, slug and draft/published status; the article holds its category, its related
//! articles and the ticket it was drafted from. [`KnowledgeBasePort`] stores them; the text rules
//! (slugs, locales, search words and their typo corrections) are pure, in [`text`].

pub mod text;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, TicketId, UserId, string_enum};
use crate::store::StoreResult;

pub type KbCategoryId = i64;
pub type ArticleId = i64;

/// The permission that lets an agent or supervisor write the knowledge base (admins always may).
pub const KB_EDITOR: &str = "kb_editor";

string_enum!(
    /// Whether readers see a translation: drafts are for staff only.
    ArticleStatus { Draft => "draft", Published => "published" }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KbCategory {
    pub id: KbCategoryId,
    pub account_id: AccountId,
    /// The top-level category this one sits in; categories nest one level only.
    pub parent_id: Option<KbCategoryId>,
    pub name: String,
    pub slug: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewKbCategory {
    pub account_id: AccountId,
    pub parent_id: Option<KbCategoryId>,
    pub name: String,
    pub slug: String,
}

/// Fields of a category an editor may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct KbCategoryPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub parent_id: Option<Option<KbCategoryId>>,
}

/// Another locale of the same article, for the language switch and `hreflang` links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleLocale {
    pub locale: String,
    pub slug: String,
    pub title: String,
    pub status: ArticleStatus,
}

/// One translation of an article: what the API answers and the public site renders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Article {
    /// The article's id, shared by its translations.
    pub id: ArticleId,
    pub account_id: AccountId,
    pub locale: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub slug: String,
    pub status: ArticleStatus,
    pub category_id: Option<KbCategoryId>,
    /// Who wrote this translation (`None` once their user is gone from the directory).
    pub author_id: Option<UserId>,
    pub author_name: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub published_at: Option<Timestamp>,
    /// Every translation of the article, this one included, by locale.
    pub translations: Vec<ArticleLocale>,
    /// Related articles, in the order the editor gave.
    pub related_ids: Vec<ArticleId>,
    /// The resolved ticket this article was drafted from.
    pub source_ticket_id: Option<TicketId>,
    /// Readers' "was this helpful?" answers to this translation.
    pub helpful_count: i64,
    pub unhelpful_count: i64,
}

#[derive(Clone, Debug)]
pub struct NewArticle {
    pub account_id: AccountId,
    /// `Some`: a new translation of this article; `None`: a new article.
    pub article_id: Option<ArticleId>,
    pub locale: String,
    pub title: String,
    pub body: String,
    pub slug: String,
    pub status: ArticleStatus,
    /// For a new article only (a translation shares its article's).
    pub category_id: Option<KbCategoryId>,
    pub related_ids: Vec<ArticleId>,
    pub author_id: UserId,
    pub source_ticket_id: Option<TicketId>,
}

/// Changes to one translation (title, body, slug, status) and to its article (category, related);
/// `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ArticlePatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub slug: Option<String>,
    pub status: Option<ArticleStatus>,
    pub category_id: Option<Option<KbCategoryId>>,
    pub related_ids: Option<Vec<ArticleId>>,
}

/// Which translations a list holds, newest change first.
#[derive(Clone, Debug)]
pub struct ArticleQuery {
    pub account_id: AccountId,
    pub locale: Option<String>,
    pub status: Option<ArticleStatus>,
    /// The category, or (for a top-level one) any of its children too.
    pub category_id: Option<KbCategoryId>,
    /// Keyset: only translations changed before this `(updated_at millis, translation row)`.
    pub before: Option<(i64, i64)>,
    pub limit: i64,
}

/// A full-text search: every group must match (AND), any word of a group may (OR), each word as
/// a prefix. Words come from [`text::search_words`], so they are safe in either index's syntax.
#[derive(Clone, Debug)]
pub struct ArticleSearch {
    pub account_id: AccountId,
    pub groups: Vec<Vec<String>>,
    pub locale: Option<String>,
    pub published_only: bool,
    pub limit: i64,
}

/// A translation found by a search, best first; `position` keeps a list's keyset cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct ArticleHit {
    pub article: Article,
    /// `(updated_at millis, translation row)`: the cursor of [`ArticleQuery::before`].
    pub position: (i64, i64),
}

/// What the public site finds at a slug.
#[derive(Clone, Debug, PartialEq)]
pub enum SlugTarget {
    Current(Box<Article>),
    /// The slug is an old one of this translation, which now lives at the given slug.
    Moved(String),
}

#[derive(Clone, Debug)]
pub struct ArticleFeedback {
    pub account_id: AccountId,
    pub article_id: ArticleId,
    pub locale: String,
    pub helpful: bool,
    pub comment: Option<String>,
}

/// A customer told the portal's new-ticket form that a suggested article answered their
/// question, so no ticket was opened.
#[derive(Clone, Debug)]
pub struct Deflection {
    pub account_id: AccountId,
    pub article_id: ArticleId,
    pub locale: String,
    pub user_id: Option<UserId>,
    /// What they had typed when the article was suggested.
    pub query: String,
}

/// How many deflections an article's translation earned in a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeflectionCount {
    pub article_id: ArticleId,
    pub locale: String,
    pub title: String,
    pub count: i64,
}

/// Categories, articles and their translations, feedback, and the per-user permissions that
/// say who edits them. Conflicts: a taken slug is `Conflict("slug_taken")`, a second
/// translation in a locale `Conflict("locale_exists")`, removing a category that still holds
/// articles or sub-categories `Conflict("category_not_empty")`.
#[async_trait]
pub trait KnowledgeBasePort: Send + Sync + 'static {
    async fn create_kb_category(&self, category: NewKbCategory) -> StoreResult<KbCategory>;
    async fn update_kb_category(
        &self,
        account: AccountId,
        id: KbCategoryId,
        patch: KbCategoryPatch,
    ) -> StoreResult<KbCategory>;
    async fn delete_kb_category(&self, account: AccountId, id: KbCategoryId) -> StoreResult<()>;
    /// Every category of the account, by name.
    async fn kb_categories(&self, account: AccountId) -> StoreResult<Vec<KbCategory>>;
    /// A new article with its first translation, or another translation of an existing one.
    async fn create_article(&self, article: NewArticle) -> StoreResult<Article>;
    /// A changed slug keeps the old one as a redirect.
    async fn update_article(
        &self,
        account: AccountId,
        id: ArticleId,
        locale: &str,
        patch: ArticlePatch,
    ) -> StoreResult<Article>;
    /// Removes one translation (the article goes with its last), or with `None` the article.
    async fn delete_article(&self, account: AccountId, id: ArticleId, locale: Option<&str>) -> StoreResult<()>;
    /// The translation in `locale`, or with `None` the article's oldest translation.
    async fn article(&self, account: AccountId, id: ArticleId, locale: Option<&str>) -> StoreResult<Option<Article>>;
    /// The translation at `slug`, or where an old slug of one moved to.
    async fn article_by_slug(&self, account: AccountId, slug: &str) -> StoreResult<Option<SlugTarget>>;
    async fn list_articles(&self, query: &ArticleQuery) -> StoreResult<Vec<ArticleHit>>;
    /// Ranked by the full-text index: title words weigh more than body words.
    async fn search_articles(&self, search: &ArticleSearch) -> StoreResult<Vec<Article>>;
    /// The words the index holds for the account's articles (published ones only with
    /// `published_only`) that start with one of `initials`: what a misspelt word is corrected to.
    async fn article_words(
        &self,
        account: AccountId,
        initials: &[char],
        published_only: bool,
    ) -> StoreResult<Vec<String>>;
    async fn record_article_feedback(&self, feedback: ArticleFeedback) -> StoreResult<()>;
    /// `NotFound` when the article has no translation in the locale.
    async fn record_deflection(&self, deflection: Deflection) -> StoreResult<()>;
    /// Deflections in `[from, to)` per translation, most first.
    async fn deflections(
        &self,
        account: AccountId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<DeflectionCount>>;
    /// The permissions granted to `user` (e.g. [`KB_EDITOR`]).
    async fn user_permissions(&self, account: AccountId, user: UserId) -> StoreResult<Vec<String>>;
    /// The users of the account holding `permission`.
    async fn users_with_permission(&self, account: AccountId, permission: &str) -> StoreResult<Vec<UserId>>;
    async fn set_user_permission(
        &self,
        account: AccountId,
        user: UserId,
        permission: &str,
        granted: bool,
    ) -> StoreResult<()>;
}

/// In a suggestion's fallback, words shorter than this ("I", "my", "how", "it") are left out:
/// they match nearly every article.
const SIGNIFICANT_CHARS: usize = 4;

/// Articles for what a reader is typing in a form (a subject and a sentence or two): those with
/// every word first ([`search`]); failing that, those with any of its longer words, best ranked
/// first, so "I forgot my password, how do I reset it?" still finds "Reset your password".
pub async fn suggest<S: KnowledgeBasePort + ?Sized>(
    store: &S,
    account: AccountId,
    query: &str,
    locale: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Article>> {
    let found = search(store, account, query, locale, true, limit).await?;
    let significant: Vec<String> =
        text::search_words(query).into_iter().filter(|word| word.chars().count() >= SIGNIFICANT_CHARS).collect();
    if !found.is_empty() || significant.len() < 2 {
        return Ok(found);
    }
    let any = ArticleSearch {
        account_id: account,
        groups: vec![significant],
        locale: locale.map(str::to_owned),
        published_only: true,
        limit,
    };
    store.search_articles(&any).await
}

/// The most words a correction may offer for one misspelt word.
const CORRECTIONS_PER_WORD: usize = 3;
/// Queries of at most this many words get the typo fallback: longer ones carry enough words
/// that a miss means the knowledge base has no such article, and correcting each word would
/// cost a vocabulary read per word for little.
pub const TYPO_TOLERANT_WORDS: usize = 3;

/// Searches the knowledge base: first every word as typed (each a prefix); when that finds
/// nothing and the query is short, again with each word also matching the indexed words within
/// its edit distance ([`text::corrections`]), so `pasword` finds "password".
pub async fn search<S: KnowledgeBasePort + ?Sized>(
    store: &S,
    account: AccountId,
    query: &str,
    locale: Option<&str>,
    published_only: bool,
    limit: i64,
) -> StoreResult<Vec<Article>> {
    let words = text::search_words(query);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let mut search = ArticleSearch {
        account_id: account,
        groups: words.iter().map(|word| vec![word.clone()]).collect(),
        locale: locale.map(str::to_owned),
        published_only,
        limit,
    };
    let found = store.search_articles(&search).await?;
    if !found.is_empty() || words.len() > TYPO_TOLERANT_WORDS {
        return Ok(found);
    }
    let initials: Vec<char> = words.iter().filter_map(|word| word.chars().next()).collect();
    let vocabulary = store.article_words(account, &initials, published_only).await?;
    let mut corrected = false;
    for group in &mut search.groups {
        let fixes = text::corrections(&group[0], &vocabulary, CORRECTIONS_PER_WORD);
        corrected |= !fixes.is_empty();
        group.extend(fixes);
    }
    if !corrected {
        return Ok(found);
    }
    store.search_articles(&search).await
}
