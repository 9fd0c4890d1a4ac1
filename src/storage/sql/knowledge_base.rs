//! The SQL of the knowledge base, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each. Only the full-text search and the word list
//! differ (FTS5 and its vocabulary table on SQLite, `tsvector` and `ts_stat` on PostgreSQL, both
//! from migration 0027) and switch on the backend's [`Dialect`](super::ticket_filter::Dialect).

/// `("word"* OR "fix"*) AND (…)`: FTS5's syntax for groups of prefixes, every group required.
pub fn fts5_groups(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|group| format!("({})", group.iter().map(|word| format!("\"{word}\"*")).collect::<Vec<_>>().join(" OR ")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `(word:* | fix:*) & (…)`: the same for `to_tsquery`.
pub fn tsquery_groups(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|group| format!("({})", group.iter().map(|word| format!("{word}:*")).collect::<Vec<_>>().join(" | ")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A unique-index refusal as the port names it: the slug or the locale that is taken.
pub fn kb_conflict(error: switchboard_actors::store::StoreError) -> switchboard_actors::store::StoreError {
    use switchboard_actors::store::StoreError;
    match error {
        StoreError::Conflict(reason) if reason.contains("locale") => StoreError::Conflict("locale_exists".to_owned()),
        StoreError::Conflict(_) => StoreError::Conflict("slug_taken".to_owned()),
        other => other,
    }
}

macro_rules! knowledge_base_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::knowledge_base::{
            Article, ArticleFeedback, ArticleHit, ArticleId, ArticleLocale, ArticlePatch, ArticleQuery, ArticleSearch,
            ArticleStatus, Deflection, DeflectionCount, KbCategory, KbCategoryId, KbCategoryPatch, KnowledgeBasePort, NewArticle, NewKbCategory,
            SlugTarget,
        };
        use crate::storage::sql::knowledge_base::{fts5_groups, kb_conflict, tsquery_groups};
        use crate::storage::sql::ticket_filter::Dialect;

        const KB_CATEGORY_SELECT: &str =
            "SELECT id, account_id, parent_id, name, slug, created_at, updated_at FROM kb_categories";

        fn kb_category_from_row(row: &DbRow) -> StoreResult<KbCategory> {
            Ok(KbCategory {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                parent_id: row.try_get("parent_id").map_err(db_error)?,
                name: row.try_get("name").map_err(db_error)?,
                slug: row.try_get("slug").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
            })
        }

        impl $store {
            /// The translations with these row ids, in this order, each with its article's other
            /// locales, related articles and feedback counts (four reads, whatever the number).
            async fn translations_by_rows(&self, rows: &[i64]) -> StoreResult<Vec<ArticleHit>> {
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = QueryBuilder::<$db>::new(
                    "SELECT tr.id AS row_id, tr.article_id, tr.account_id, tr.locale, tr.title, tr.body, tr.slug, \
                     tr.status, tr.author_id, u.name AS author_name, tr.created_at, tr.updated_at, tr.published_at, \
                     a.category_id, a.source_ticket_id FROM kb_translations tr JOIN kb_articles a ON a.id = tr.article_id \
                     LEFT JOIN users u ON u.id = tr.author_id WHERE tr.id IN (",
                );
                let mut ids = query.separated(", ");
                for row in rows {
                    ids.push_bind(*row);
                }
                query.push(")");
                let found = query.build().fetch_all(&self.pool).await.map_err(db_error)?;
                let mut articles: Vec<(i64, Article)> = Vec::with_capacity(found.len());
                for row in &found {
                    let status: String = row.try_get("status").map_err(db_error)?;
                    let published: Option<i64> = row.try_get("published_at").map_err(db_error)?;
                    articles.push((
                        row.try_get("row_id").map_err(db_error)?,
                        Article {
                            id: row.try_get("article_id").map_err(db_error)?,
                            account_id: row.try_get("account_id").map_err(db_error)?,
                            locale: row.try_get("locale").map_err(db_error)?,
                            title: row.try_get("title").map_err(db_error)?,
                            body: row.try_get("body").map_err(db_error)?,
                            slug: row.try_get("slug").map_err(db_error)?,
                            status: parse_text(status)?,
                            category_id: row.try_get("category_id").map_err(db_error)?,
                            author_id: row.try_get("author_id").map_err(db_error)?,
                            author_name: row.try_get("author_name").map_err(db_error)?,
                            created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                            updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
                            published_at: published.map(from_millis).transpose()?,
                            translations: Vec::new(),
                            related_ids: Vec::new(),
                            source_ticket_id: row.try_get("source_ticket_id").map_err(db_error)?,
                            helpful_count: 0,
                            unhelpful_count: 0,
                        },
                    ));
                }
                let mut article_ids: Vec<i64> = articles.iter().map(|(_, article)| article.id).collect();
                article_ids.sort_unstable();
                article_ids.dedup();
                let mut locales = QueryBuilder::<$db>::new(
                    "SELECT article_id, locale, slug, title, status FROM kb_translations WHERE article_id IN (",
                );
                let mut related = QueryBuilder::<$db>::new("SELECT article_id, related_id FROM kb_related WHERE article_id IN (");
                for (index, id) in article_ids.iter().enumerate() {
                    if index > 0 {
                        locales.push(", ");
                        related.push(", ");
                    }
                    locales.push_bind(*id);
                    related.push_bind(*id);
                }
                locales.push(") ORDER BY locale");
                related.push(") ORDER BY position");
                let mut feedback = QueryBuilder::<$db>::new(
                    "SELECT translation_id, helpful, COUNT(*) AS answers FROM kb_feedback WHERE translation_id IN (",
                );
                let mut separated = feedback.separated(", ");
                for row in rows {
                    separated.push_bind(*row);
                }
                feedback.push(") GROUP BY translation_id, helpful");
                let locales = locales.build().fetch_all(&self.pool).await.map_err(db_error)?;
                let related: Vec<(i64, i64)> = related.build_query_as().fetch_all(&self.pool).await.map_err(db_error)?;
                let feedback: Vec<(i64, bool, i64)> = feedback.build_query_as().fetch_all(&self.pool).await.map_err(db_error)?;
                for (row_id, article) in &mut articles {
                    for row in &locales {
                        let of: i64 = row.try_get("article_id").map_err(db_error)?;
                        if of == article.id {
                            let status: String = row.try_get("status").map_err(db_error)?;
                            article.translations.push(ArticleLocale {
                                locale: row.try_get("locale").map_err(db_error)?,
                                slug: row.try_get("slug").map_err(db_error)?,
                                title: row.try_get("title").map_err(db_error)?,
                                status: parse_text(status)?,
                            });
                        }
                    }
                    article.related_ids =
                        related.iter().filter(|(of, _)| *of == article.id).map(|(_, related)| *related).collect();
                    for (of, helpful, answers) in &feedback {
                        if *of == *row_id {
                            if *helpful { article.helpful_count = *answers } else { article.unhelpful_count = *answers }
                        }
                    }
                }
                let mut ordered = Vec::with_capacity(articles.len());
                for row in rows {
                    if let Some(at) = articles.iter().position(|(row_id, _)| row_id == row) {
                        let (row_id, article) = articles.swap_remove(at);
                        ordered.push(ArticleHit { position: (millis(article.updated_at), row_id), article });
                    }
                }
                Ok(ordered)
            }

            /// The row of an article's translation in `locale` (or its oldest), in the account.
            async fn translation_row(
                executor: impl sqlx::Executor<'_, Database = $db>,
                account: AccountId,
                id: ArticleId,
                locale: Option<&str>,
            ) -> StoreResult<Option<i64>> {
                let mut query = QueryBuilder::<$db>::new("SELECT id FROM kb_translations WHERE account_id = ");
                query.push_bind(account).push(" AND article_id = ").push_bind(id);
                if let Some(locale) = locale {
                    query.push(" AND locale = ").push_bind(locale.to_owned());
                }
                query.push(" ORDER BY id LIMIT 1");
                query.build_query_scalar().fetch_optional(executor).await.map_err(db_error)
            }

            /// Refuses a slug another translation of the account has; forgets it as an old slug.
            async fn claim_slug(tx: &mut DbTx, account: AccountId, slug: &str, own_row: Option<i64>) -> StoreResult<()> {
                let holder: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_translations WHERE account_id = $1 AND slug = $2")
                    .bind(account)
                    .bind(slug.to_owned())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_error)?;
                if holder.is_some_and(|holder| Some(holder) != own_row) {
                    return Err(StoreError::Conflict("slug_taken".to_owned()));
                }
                sqlx::query("DELETE FROM kb_old_slugs WHERE account_id = $1 AND slug = $2")
                    .bind(account)
                    .bind(slug.to_owned())
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            /// Replaces an article's related articles, each of the same account.
            async fn set_related(tx: &mut DbTx, account: AccountId, id: ArticleId, related: &[ArticleId]) -> StoreResult<()> {
                sqlx::query("DELETE FROM kb_related WHERE article_id = $1").bind(id).execute(&mut **tx).await.map_err(db_error)?;
                for (position, other) in related.iter().enumerate() {
                    let owner: Option<i64> = sqlx::query_scalar("SELECT account_id FROM kb_articles WHERE id = $1")
                        .bind(*other)
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db_error)?;
                    if owner != Some(account) || *other == id {
                        return Err(StoreError::NotFound);
                    }
                    sqlx::query("INSERT INTO kb_related (article_id, related_id, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(id)
                        .bind(*other)
                        .bind(position as i64)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_error)?;
                }
                Ok(())
            }

            async fn check_kb_category(tx: &mut DbTx, account: AccountId, category: Option<KbCategoryId>) -> StoreResult<()> {
                let Some(category) = category else { return Ok(()) };
                let owner: Option<i64> = sqlx::query_scalar("SELECT account_id FROM kb_categories WHERE id = $1")
                    .bind(category)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_error)?;
                if owner == Some(account) { Ok(()) } else { Err(StoreError::NotFound) }
            }

            /// Removes translations (their feedback and old slugs first), then articles left
            /// without any, with the related links to and from them.
            async fn remove_translations(tx: &mut DbTx, article: ArticleId, rows: &[i64]) -> StoreResult<()> {
                for row in rows {
                    for sql in [
                        "DELETE FROM kb_feedback WHERE translation_id = $1",
                        "DELETE FROM kb_old_slugs WHERE translation_id = $1",
                        "DELETE FROM kb_translations WHERE id = $1",
                    ] {
                        sqlx::query(sql).bind(*row).execute(&mut **tx).await.map_err(db_error)?;
                    }
                }
                let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kb_translations WHERE article_id = $1")
                    .bind(article)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_error)?;
                if left == 0 {
                    for sql in ["DELETE FROM kb_related WHERE article_id = $1 OR related_id = $1", "DELETE FROM kb_articles WHERE id = $1"] {
                        sqlx::query(sql).bind(article).execute(&mut **tx).await.map_err(db_error)?;
                    }
                }
                Ok(())
            }
        }

        #[async_trait]
        impl KnowledgeBasePort for $store {
            async fn create_kb_category(&self, category: NewKbCategory) -> StoreResult<KbCategory> {
                let now = millis(self.clock.now());
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_kb_category(&mut tx, category.account_id, category.parent_id).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO kb_categories (account_id, parent_id, name, slug, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(category.account_id)
                .bind(category.parent_id)
                .bind(category.name)
                .bind(category.slug)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|error| kb_conflict(db_error(error)))?;
                tx.commit().await.map_err(db_error)?;
                self.kb_categories(category.account_id).await?.into_iter().find(|found| found.id == id).ok_or(StoreError::NotFound)
            }

            async fn update_kb_category(&self, account: AccountId, id: KbCategoryId, patch: KbCategoryPatch) -> StoreResult<KbCategory> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_kb_category(&mut tx, account, Some(id)).await?;
                if let Some(parent) = patch.parent_id {
                    Self::check_kb_category(&mut tx, account, parent).await?;
                }
                let mut update = QueryBuilder::<$db>::new("UPDATE kb_categories SET updated_at = ");
                update.push_bind(millis(self.clock.now()));
                if let Some(name) = patch.name { update.push(", name = ").push_bind(name); }
                if let Some(slug) = patch.slug { update.push(", slug = ").push_bind(slug); }
                if let Some(parent) = patch.parent_id { update.push(", parent_id = ").push_bind(parent); }
                update.push(" WHERE id = ").push_bind(id);
                update.build().execute(&mut *tx).await.map_err(|error| kb_conflict(db_error(error)))?;
                tx.commit().await.map_err(db_error)?;
                self.kb_categories(account).await?.into_iter().find(|found| found.id == id).ok_or(StoreError::NotFound)
            }

            async fn delete_kb_category(&self, account: AccountId, id: KbCategoryId) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_kb_category(&mut tx, account, Some(id)).await?;
                let held: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM kb_articles WHERE category_id = $1) + \
                     (SELECT COUNT(*) FROM kb_categories WHERE parent_id = $1)",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                if held > 0 {
                    return Err(StoreError::Conflict("category_not_empty".to_owned()));
                }
                sqlx::query("DELETE FROM kb_categories WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            async fn kb_categories(&self, account: AccountId) -> StoreResult<Vec<KbCategory>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{KB_CATEGORY_SELECT} WHERE account_id = $1 ORDER BY name, id")))
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(kb_category_from_row)
                    .collect()
            }

            async fn create_article(&self, article: NewArticle) -> StoreResult<Article> {
                let now = millis(self.clock.now());
                let account = article.account_id;
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let id = match article.article_id {
                    Some(id) => {
                        if Self::translation_row(&mut *tx, account, id, None).await?.is_none() {
                            return Err(StoreError::NotFound);
                        }
                        if Self::translation_row(&mut *tx, account, id, Some(&article.locale)).await?.is_some() {
                            return Err(StoreError::Conflict("locale_exists".to_owned()));
                        }
                        id
                    }
                    None => {
                        Self::check_kb_category(&mut tx, account, article.category_id).await?;
                        sqlx::query_scalar(
                            "INSERT INTO kb_articles (account_id, category_id, source_ticket_id, created_at) \
                             VALUES ($1, $2, $3, $4) RETURNING id",
                        )
                        .bind(account)
                        .bind(article.category_id)
                        .bind(article.source_ticket_id)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_error)?
                    }
                };
                Self::claim_slug(&mut tx, account, &article.slug, None).await?;
                let published = (article.status == ArticleStatus::Published).then_some(now);
                let row: i64 = sqlx::query_scalar(
                    "INSERT INTO kb_translations (article_id, account_id, locale, title, body, slug, status, author_id, \
                     created_at, updated_at, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id",
                )
                .bind(id)
                .bind(account)
                .bind(article.locale)
                .bind(article.title)
                .bind(article.body)
                .bind(article.slug)
                .bind(article.status.as_str())
                .bind(article.author_id)
                .bind(now)
                .bind(published)
                .fetch_one(&mut *tx)
                .await
                .map_err(|error| kb_conflict(db_error(error)))?;
                if article.article_id.is_none() || !article.related_ids.is_empty() {
                    Self::set_related(&mut tx, account, id, &article.related_ids).await?;
                }
                tx.commit().await.map_err(db_error)?;
                self.translations_by_rows(&[row]).await?.pop().map(|hit| hit.article).ok_or(StoreError::NotFound)
            }

            async fn update_article(&self, account: AccountId, id: ArticleId, locale: &str, patch: ArticlePatch) -> StoreResult<Article> {
                let now = millis(self.clock.now());
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let row = Self::translation_row(&mut *tx, account, id, Some(locale)).await?.ok_or(StoreError::NotFound)?;
                if let Some(slug) = &patch.slug {
                    let old: String = sqlx::query_scalar("SELECT slug FROM kb_translations WHERE id = $1")
                        .bind(row)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    if *slug != old {
                        Self::claim_slug(&mut tx, account, slug, Some(row)).await?;
                        // The old address keeps working: links and search engines get a 301.
                        sqlx::query(
                            "INSERT INTO kb_old_slugs (account_id, slug, translation_id) VALUES ($1, $2, $3) \
                             ON CONFLICT (account_id, slug) DO UPDATE SET translation_id = excluded.translation_id",
                        )
                        .bind(account)
                        .bind(old)
                        .bind(row)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    }
                }
                let mut update = QueryBuilder::<$db>::new("UPDATE kb_translations SET updated_at = ");
                update.push_bind(now);
                if let Some(title) = patch.title { update.push(", title = ").push_bind(title); }
                if let Some(body) = patch.body { update.push(", body = ").push_bind(body); }
                if let Some(slug) = patch.slug { update.push(", slug = ").push_bind(slug); }
                if let Some(status) = patch.status {
                    // The first publication date stays through later edits; a draft has none.
                    update.push(", status = ").push_bind(status.as_str());
                    match status {
                        ArticleStatus::Published => update.push(", published_at = COALESCE(published_at, ").push_bind(now).push(")"),
                        ArticleStatus::Draft => update.push(", published_at = NULL"),
                    };
                }
                update.push(" WHERE id = ").push_bind(row);
                update.build().execute(&mut *tx).await.map_err(|error| kb_conflict(db_error(error)))?;
                if let Some(category) = patch.category_id {
                    Self::check_kb_category(&mut tx, account, category).await?;
                    sqlx::query("UPDATE kb_articles SET category_id = $1 WHERE id = $2")
                        .bind(category)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                if let Some(related) = &patch.related_ids {
                    Self::set_related(&mut tx, account, id, related).await?;
                }
                tx.commit().await.map_err(db_error)?;
                self.translations_by_rows(&[row]).await?.pop().map(|hit| hit.article).ok_or(StoreError::NotFound)
            }

            async fn delete_article(&self, account: AccountId, id: ArticleId, locale: Option<&str>) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let mut query = QueryBuilder::<$db>::new("SELECT id FROM kb_translations WHERE account_id = ");
                query.push_bind(account).push(" AND article_id = ").push_bind(id);
                if let Some(locale) = locale {
                    query.push(" AND locale = ").push_bind(locale.to_owned());
                }
                let rows: Vec<i64> = query.build_query_scalar().fetch_all(&mut *tx).await.map_err(db_error)?;
                if rows.is_empty() {
                    return Err(StoreError::NotFound);
                }
                Self::remove_translations(&mut tx, id, &rows).await?;
                tx.commit().await.map_err(db_error)
            }

            async fn article(&self, account: AccountId, id: ArticleId, locale: Option<&str>) -> StoreResult<Option<Article>> {
                match Self::translation_row(&self.pool, account, id, locale).await? {
                    Some(row) => Ok(self.translations_by_rows(&[row]).await?.pop().map(|hit| hit.article)),
                    None => Ok(None),
                }
            }

            async fn article_by_slug(&self, account: AccountId, slug: &str) -> StoreResult<Option<SlugTarget>> {
                let row: Option<i64> = sqlx::query_scalar("SELECT id FROM kb_translations WHERE account_id = $1 AND slug = $2")
                    .bind(account)
                    .bind(slug.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                if let Some(row) = row {
                    return Ok(self.translations_by_rows(&[row]).await?.pop().map(|hit| SlugTarget::Current(Box::new(hit.article))));
                }
                let moved: Option<String> = sqlx::query_scalar(
                    "SELECT tr.slug FROM kb_old_slugs o JOIN kb_translations tr ON tr.id = o.translation_id \
                     WHERE o.account_id = $1 AND o.slug = $2",
                )
                .bind(account)
                .bind(slug.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(moved.map(SlugTarget::Moved))
            }

            async fn list_articles(&self, q: &ArticleQuery) -> StoreResult<Vec<ArticleHit>> {
                let mut query = QueryBuilder::<$db>::new(
                    "SELECT tr.id FROM kb_translations tr JOIN kb_articles a ON a.id = tr.article_id WHERE tr.account_id = ",
                );
                query.push_bind(q.account_id);
                if let Some(locale) = &q.locale {
                    query.push(" AND tr.locale = ").push_bind(locale.clone());
                }
                if let Some(status) = q.status {
                    query.push(" AND tr.status = ").push_bind(status.as_str());
                }
                if let Some(category) = q.category_id {
                    query.push(" AND a.category_id IN (SELECT id FROM kb_categories WHERE id = ").push_bind(category);
                    query.push(" OR parent_id = ").push_bind(category).push(")");
                }
                if let Some((updated, row)) = q.before {
                    query.push(" AND (tr.updated_at < ").push_bind(updated);
                    query.push(" OR (tr.updated_at = ").push_bind(updated).push(" AND tr.id < ").push_bind(row).push("))");
                }
                query.push(" ORDER BY tr.updated_at DESC, tr.id DESC LIMIT ").push_bind(q.limit);
                let rows: Vec<i64> = query.build_query_scalar().fetch_all(&self.pool).await.map_err(db_error)?;
                self.translations_by_rows(&rows).await
            }

            async fn search_articles(&self, search: &ArticleSearch) -> StoreResult<Vec<Article>> {
                if search.groups.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = match <$db as HasDialect>::DIALECT {
                    Dialect::Sqlite => {
                        let mut query = QueryBuilder::<$db>::new(
                            "SELECT tr.id FROM kb_translation_fts JOIN kb_translations tr ON tr.id = kb_translation_fts.rowid \
                             WHERE kb_translation_fts MATCH ",
                        );
                        query.push_bind(fts5_groups(&search.groups));
                        query
                    }
                    Dialect::Postgres => {
                        let mut query = QueryBuilder::<$db>::new(
                            "SELECT tr.id FROM kb_translations tr WHERE tr.search @@ to_tsquery('simple', ",
                        );
                        query.push_bind(tsquery_groups(&search.groups)).push(")");
                        query
                    }
                };
                query.push(" AND tr.account_id = ").push_bind(search.account_id);
                if search.published_only {
                    query.push(" AND tr.status = 'published'");
                }
                if let Some(locale) = &search.locale {
                    query.push(" AND tr.locale = ").push_bind(locale.clone());
                }
                match <$db as HasDialect>::DIALECT {
                    // bm25 is lower for better matches; a title word counts ten body words.
                    Dialect::Sqlite => query.push(" ORDER BY bm25(kb_translation_fts, 10.0, 1.0), tr.id"),
                    Dialect::Postgres => query
                        .push(" ORDER BY ts_rank(tr.search, to_tsquery('simple', ")
                        .push_bind(tsquery_groups(&search.groups))
                        .push(")) DESC, tr.id"),
                };
                query.push(" LIMIT ").push_bind(search.limit);
                let rows: Vec<i64> = query.build_query_scalar().fetch_all(&self.pool).await.map_err(db_error)?;
                Ok(self.translations_by_rows(&rows).await?.into_iter().map(|hit| hit.article).collect())
            }

            async fn article_words(&self, account: AccountId, initials: &[char], published_only: bool) -> StoreResult<Vec<String>> {
                if initials.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = match <$db as HasDialect>::DIALECT {
                    // The vocabulary table spans the whole index (every account, drafts too): a
                    // correction it offers only widens the second search, which still reads the
                    // account's (published) articles alone.
                    Dialect::Sqlite => QueryBuilder::<$db>::new("SELECT term FROM kb_translation_vocabulary WHERE substr(term, 1, 1) IN ("),
                    Dialect::Postgres => {
                        let status = if published_only { " AND status = 'published'" } else { "" };
                        // ts_stat reads the words of the documents its query (text) selects;
                        // the account id is a number, so the text holds nothing a caller wrote.
                        let mut query = QueryBuilder::<$db>::new("SELECT word FROM ts_stat(");
                        query.push_bind(format!("SELECT search FROM kb_translations WHERE account_id = {account}{status}"));
                        query.push(") WHERE substr(word, 1, 1) IN (");
                        query
                    }
                };
                let mut separated = query.separated(", ");
                for initial in initials {
                    separated.push_bind(initial.to_string());
                }
                query.push(") LIMIT 20000");
                query.build_query_scalar().fetch_all(&self.pool).await.map_err(db_error)
            }

            async fn record_article_feedback(&self, feedback: ArticleFeedback) -> StoreResult<()> {
                let row = Self::translation_row(&self.pool, feedback.account_id, feedback.article_id, Some(&feedback.locale))
                    .await?
                    .ok_or(StoreError::NotFound)?;
                sqlx::query(
                    "INSERT INTO kb_feedback (account_id, translation_id, helpful, comment, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(feedback.account_id)
                .bind(row)
                .bind(feedback.helpful)
                .bind(feedback.comment)
                .bind(millis(self.clock.now()))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn record_deflection(&self, deflection: Deflection) -> StoreResult<()> {
                let row = Self::translation_row(&self.pool, deflection.account_id, deflection.article_id, Some(&deflection.locale))
                    .await?
                    .ok_or(StoreError::NotFound)?;
                sqlx::query(
                    "INSERT INTO kb_deflections (account_id, translation_id, user_id, query, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(deflection.account_id)
                .bind(row)
                .bind(deflection.user_id)
                .bind(deflection.query)
                .bind(millis(self.clock.now()))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn deflections(
                &self,
                account: AccountId,
                from: Timestamp,
                to: Timestamp,
            ) -> StoreResult<Vec<DeflectionCount>> {
                let rows = sqlx::query(
                    "SELECT t.article_id, t.locale, t.title, COUNT(*) AS deflections FROM kb_deflections d \
                     JOIN kb_translations t ON t.id = d.translation_id \
                     WHERE d.account_id = $1 AND d.created_at >= $2 AND d.created_at < $3 \
                     GROUP BY t.article_id, t.locale, t.title ORDER BY deflections DESC, t.article_id, t.locale",
                )
                .bind(account)
                .bind(millis(from))
                .bind(millis(to))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|row| {
                        Ok(DeflectionCount {
                            article_id: row.try_get("article_id").map_err(db_error)?,
                            locale: row.try_get("locale").map_err(db_error)?,
                            title: row.try_get("title").map_err(db_error)?,
                            count: row.try_get("deflections").map_err(db_error)?,
                        })
                    })
                    .collect()
            }

            async fn user_permissions(&self, account: AccountId, user: UserId) -> StoreResult<Vec<String>> {
                sqlx::query_scalar("SELECT permission FROM user_permissions WHERE account_id = $1 AND user_id = $2 ORDER BY permission")
                    .bind(account)
                    .bind(user)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn users_with_permission(&self, account: AccountId, permission: &str) -> StoreResult<Vec<UserId>> {
                sqlx::query_scalar("SELECT user_id FROM user_permissions WHERE account_id = $1 AND permission = $2 ORDER BY user_id")
                    .bind(account)
                    .bind(permission.to_owned())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn set_user_permission(&self, account: AccountId, user: UserId, permission: &str, granted: bool) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "users", account, &[user]).await?;
                let sql = if granted {
                    "INSERT INTO user_permissions (account_id, user_id, permission) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM user_permissions WHERE account_id = $1 AND user_id = $2 AND permission = $3"
                };
                sqlx::query(sql).bind(account).bind(user).bind(permission.to_owned()).execute(&mut *tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }
        }
    };
}
pub(crate) use knowledge_base_sql;
