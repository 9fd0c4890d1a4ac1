//! KnowledgeBasePort: categories and articles per account, translations sharing an article's id,
//! slugs unique across locales with old ones redirecting, full-text search ranked with title
//! words first (prefixes, and typos forgiven through the index's words), feedback counted per
//! translation, and per-user permissions.

use switchboard_actors::knowledge_base::*;

use super::*;

fn new_article(account: AccountId, author: UserId, locale: &str, slug: &str, title: &str, body: &str) -> NewArticle {
    NewArticle {
        account_id: account,
        article_id: None,
        locale: locale.into(),
        title: title.into(),
        body: body.into(),
        slug: slug.into(),
        status: ArticleStatus::Published,
        category_id: None,
        related_ids: Vec::new(),
        author_id: author,
        source_ticket_id: None,
    }
}

fn conflict(result: StoreResult<impl std::fmt::Debug>) -> String {
    match result {
        Err(StoreError::Conflict(reason)) => reason,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn titles(articles: &[Article]) -> Vec<&str> {
    articles.iter().map(|article| article.title.as_str()).collect()
}

pub async fn categories_articles_and_search(store: &dyn Store) {
    let account = store.create_account("Knowledge").await.expect("account").id;
    let other = store.create_account("Elsewhere").await.expect("account").id;
    let author = store.create_user(new_user(account, "writer@kb.example", Role::Agent)).await.expect("author");
    let stranger = store.create_user(new_user(other, "writer@other.example", Role::Agent)).await.expect("stranger");

    // Categories: one level of nesting, slugs unique per account, none seen from another account.
    let category = |name: &str, slug: &str, parent_id| NewKbCategory {
        account_id: account,
        parent_id,
        name: name.into(),
        slug: slug.into(),
    };
    let billing = store.create_kb_category(category("Billing", "billing", None)).await.expect("billing");
    let refunds = store.create_kb_category(category("Refunds", "refunds", Some(billing.id))).await.expect("refunds");
    assert_eq!(refunds.parent_id, Some(billing.id));
    assert_eq!(conflict(store.create_kb_category(category("Again", "billing", None)).await), "slug_taken");
    let foreign = NewKbCategory { account_id: other, parent_id: Some(billing.id), name: "X".into(), slug: "x".into() };
    assert!(
        matches!(store.create_kb_category(foreign).await, Err(StoreError::NotFound)),
        "a parent of another account"
    );
    let names: Vec<String> = store.kb_categories(account).await.expect("list").into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Billing", "Refunds"]);
    assert!(store.kb_categories(other).await.expect("other").is_empty());
    let renamed = KbCategoryPatch { name: Some("Money back".into()), ..KbCategoryPatch::default() };
    assert_eq!(store.update_kb_category(account, refunds.id, renamed).await.expect("rename").name, "Money back");
    assert!(matches!(
        store.update_kb_category(other, refunds.id, KbCategoryPatch::default()).await,
        Err(StoreError::NotFound)
    ));

    // An article and its Spanish translation share the id; each locale once, each slug once.
    let mut refund = new_article(
        account,
        author.id,
        "en",
        "refund-timing",
        "When will my refund arrive",
        "Refunds take 3 to 5 business days.",
    );
    refund.category_id = Some(refunds.id);
    let refund = store.create_article(refund).await.expect("refund");
    assert_eq!((refund.author_id, refund.author_name.as_deref()), (Some(author.id), Some("writer@kb.example")));
    assert!(refund.published_at.is_some());
    let mut spanish = new_article(
        account,
        author.id,
        "es",
        "plazo-del-reembolso",
        "Cuándo llega mi reembolso",
        "Los reembolsos tardan de 3 a 5 días hábiles.",
    );
    spanish.article_id = Some(refund.id);
    let spanish = store.create_article(spanish).await.expect("spanish");
    assert_eq!((spanish.id, spanish.category_id), (refund.id, Some(refunds.id)), "a translation shares its article");
    let locales: Vec<&str> = spanish.translations.iter().map(|t| t.locale.as_str()).collect();
    assert_eq!(locales, ["en", "es"]);
    let mut twice = new_article(account, author.id, "es", "otro", "Otro", "");
    twice.article_id = Some(refund.id);
    assert_eq!(conflict(store.create_article(twice).await), "locale_exists");
    let taken = new_article(account, author.id, "pt", "plazo-del-reembolso", "Outro", "");
    assert_eq!(conflict(store.create_article(taken).await), "slug_taken", "slugs are unique across locales");
    let elsewhere = new_article(other, stranger.id, "en", "refund-timing", "Their refund page", "");
    store.create_article(elsewhere).await.expect("another account may use the same slug");
    assert!(store.article(other, refund.id, None).await.expect("read").is_none(), "no read crosses accounts");
    assert_eq!(store.article(account, refund.id, Some("es")).await.expect("read").expect("es").title, spanish.title);
    assert_eq!(store.article(account, refund.id, None).await.expect("read").expect("oldest").locale, "en");

    // A renamed slug keeps the old one as a redirect, until another article takes it.
    let patch = ArticlePatch {
        slug: Some("refund-delays".into()),
        title: Some("Refund delays".into()),
        ..ArticlePatch::default()
    };
    let renamed = store.update_article(account, refund.id, "en", patch).await.expect("rename");
    assert_eq!((renamed.slug.as_str(), renamed.title.as_str()), ("refund-delays", "Refund delays"));
    assert_eq!(
        store.article_by_slug(account, "refund-timing").await.expect("old"),
        Some(SlugTarget::Moved("refund-delays".into()))
    );
    assert!(matches!(
        store.article_by_slug(account, "refund-delays").await.expect("new"),
        Some(SlugTarget::Current(_))
    ));
    assert_eq!(store.article_by_slug(other, "refund-delays").await.expect("other"), None);
    let reuse = store
        .create_article(new_article(account, author.id, "en", "refund-timing", "Refund timing, again", ""))
        .await
        .expect("reuse");
    assert!(
        matches!(store.article_by_slug(account, "refund-timing").await.expect("taken"), Some(SlugTarget::Current(found)) if found.id == reuse.id)
    );

    // Drafts, categories and related articles.
    let mut draft = new_article(
        account,
        author.id,
        "en",
        "password-help",
        "Reset a password",
        "Open the password page and follow the emailed link.",
    );
    draft.status = ArticleStatus::Draft;
    draft.related_ids = vec![refund.id];
    let draft = store.create_article(draft).await.expect("draft");
    assert_eq!(
        (draft.status, draft.published_at, draft.related_ids.clone()),
        (ArticleStatus::Draft, None, vec![refund.id])
    );
    let mut self_related = new_article(account, author.id, "en", "bad-related", "Bad", "");
    self_related.related_ids = vec![reuse.id + 1000];
    assert!(matches!(store.create_article(self_related).await, Err(StoreError::NotFound)), "related must exist");
    assert_eq!(conflict(store.delete_kb_category(account, billing.id).await), "category_not_empty");
    let in_refunds = ArticleQuery {
        account_id: account,
        locale: None,
        status: Some(ArticleStatus::Published),
        category_id: Some(billing.id),
        before: None,
        limit: 50,
    };
    let listed: Vec<ArticleHit> = store.list_articles(&in_refunds).await.expect("list");
    let mut locales: Vec<&str> = listed.iter().map(|hit| hit.article.locale.as_str()).collect();
    locales.sort_unstable();
    assert_eq!(locales, ["en", "es"], "a top-level category lists its sub-categories' articles");
    let everything = ArticleQuery { status: None, category_id: None, limit: 2, ..in_refunds.clone() };
    let first_page = store.list_articles(&everything).await.expect("page");
    assert_eq!(first_page.len(), 2);
    let rest = store
        .list_articles(&ArticleQuery {
            before: first_page.last().map(|hit| hit.position),
            limit: 50,
            ..everything.clone()
        })
        .await
        .expect("rest");
    assert_eq!(first_page.len() + rest.len(), 4, "pages cover every translation once");

    // Search: ranked by the index, title words first, prefixes, published only when asked.
    let body_only = new_article(
        account,
        author.id,
        "en",
        "billing-faq",
        "Billing questions",
        "How long does a refund take? See the refund page.",
    );
    store.create_article(body_only).await.expect("faq");
    let found = search(store, account, "refund", None, true, 10).await.expect("search");
    let mut title_matches = titles(&found)[..2].to_vec();
    title_matches.sort_unstable();
    assert_eq!(title_matches, ["Refund delays", "Refund timing, again"], "title matches rank above body ones");
    assert_eq!(titles(&found)[2..], ["Billing questions"], "a word in the body is found, after them");
    assert_eq!(
        titles(&search(store, account, "reemb", None, true, 10).await.expect("prefix")),
        ["Cuándo llega mi reembolso"]
    );
    assert!(
        search(store, account, "password", None, true, 10).await.expect("published").is_empty(),
        "drafts are not public"
    );
    assert_eq!(
        titles(&search(store, account, "password", None, false, 10).await.expect("staff")),
        ["Reset a password"]
    );
    assert_eq!(
        titles(&search(store, account, "pasword", None, false, 10).await.expect("typo")),
        ["Reset a password"],
        "a typo is forgiven"
    );
    assert!(
        search(store, account, "their", None, false, 10).await.expect("other").is_empty(),
        "no search crosses accounts"
    );
    assert_eq!(
        search(store, account, "refund", Some("es"), true, 10).await.expect("locale").len(),
        0,
        "the Spanish one says reembolso"
    );

    // Feedback counts per translation; permissions per user.
    for helpful in [true, true, false] {
        let feedback =
            ArticleFeedback { account_id: account, article_id: refund.id, locale: "es".into(), helpful, comment: None };
        store.record_article_feedback(feedback).await.expect("feedback");
    }
    let counted = store.article(account, refund.id, Some("es")).await.expect("read").expect("es");
    assert_eq!((counted.helpful_count, counted.unhelpful_count), (2, 1));
    assert_eq!(store.article(account, refund.id, Some("en")).await.expect("read").expect("en").helpful_count, 0);
    store.set_user_permission(account, author.id, KB_EDITOR, true).await.expect("grant");
    store.set_user_permission(account, author.id, KB_EDITOR, true).await.expect("granting twice is one grant");
    assert_eq!(store.user_permissions(account, author.id).await.expect("held"), [KB_EDITOR]);
    assert_eq!(store.users_with_permission(account, KB_EDITOR).await.expect("holders"), [author.id]);
    assert!(matches!(
        store.set_user_permission(account, stranger.id, KB_EDITOR, true).await,
        Err(StoreError::NotFound)
    ));
    store.set_user_permission(account, author.id, KB_EDITOR, false).await.expect("revoke");
    assert!(store.user_permissions(account, author.id).await.expect("none").is_empty());

    // Removing a translation keeps the article; removing the last removes it and its links.
    store.delete_article(account, refund.id, Some("es")).await.expect("remove es");
    assert!(store.article(account, refund.id, Some("en")).await.expect("read").is_some());
    store.delete_article(account, refund.id, None).await.expect("remove");
    assert!(store.article(account, refund.id, None).await.expect("read").is_none());
    assert_eq!(store.article_by_slug(account, "refund-delays").await.expect("gone"), None);
    assert!(store.article(account, draft.id, None).await.expect("draft").expect("kept").related_ids.is_empty());
    assert!(matches!(store.delete_article(account, refund.id, None).await, Err(StoreError::NotFound)));
    store.delete_kb_category(account, refunds.id).await.expect("an empty category goes");
}
