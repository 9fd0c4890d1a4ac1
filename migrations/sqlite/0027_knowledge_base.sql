-- The knowledge base (issue 14 item 3): categories nested one level, articles whose translations
-- (one per locale) share the article's id, the slugs each translation had before a rename (the
-- public site answers them with a 301), related articles, readers' "was this helpful?" answers,
-- and the per-user permissions that let an agent edit the knowledge base (`kb_editor`).
CREATE TABLE kb_categories (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    parent_id   INTEGER REFERENCES kb_categories(id),
    name        TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (account_id, slug)
);

CREATE TABLE kb_articles (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts(id),
    category_id       INTEGER REFERENCES kb_categories(id),
    -- The resolved ticket it was drafted from (POST /tickets/{id}/to-article), if any.
    source_ticket_id  INTEGER REFERENCES tickets(id),
    created_at        INTEGER NOT NULL
);
CREATE INDEX kb_articles_category ON kb_articles (category_id);

-- One row per locale of an article. A slug is unique in the account across locales: the public
-- URL /help/articles/{slug} names the translation without a locale.
CREATE TABLE kb_translations (
    id            INTEGER PRIMARY KEY,
    article_id    INTEGER NOT NULL REFERENCES kb_articles(id),
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    locale        TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    slug          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    author_id     INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    published_at  INTEGER,
    UNIQUE (article_id, locale),
    UNIQUE (account_id, slug)
);
CREATE INDEX kb_translations_account ON kb_translations (account_id, status, locale);

-- A slug a translation no longer has: the public site redirects it to the current one. A new
-- translation that takes the slug removes the row (the live page wins over the redirect).
CREATE TABLE kb_old_slugs (
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    slug            TEXT    NOT NULL,
    translation_id  INTEGER NOT NULL REFERENCES kb_translations(id),
    PRIMARY KEY (account_id, slug)
);
CREATE INDEX kb_old_slugs_translation ON kb_old_slugs (translation_id);

CREATE TABLE kb_related (
    article_id  INTEGER NOT NULL REFERENCES kb_articles(id),
    related_id  INTEGER NOT NULL REFERENCES kb_articles(id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (article_id, related_id)
);
CREATE INDEX kb_related_related ON kb_related (related_id);

CREATE TABLE kb_feedback (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    translation_id  INTEGER NOT NULL REFERENCES kb_translations(id),
    helpful         BOOLEAN NOT NULL,
    comment         TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX kb_feedback_translation ON kb_feedback (translation_id);

CREATE TABLE user_permissions (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    permission  TEXT    NOT NULL,
    PRIMARY KEY (user_id, permission)
);

-- Full-text search over titles and bodies, kept by triggers in the same transaction as the row
-- (as tickets are, migration 0019): external content, words folded to lower case without
-- diacritics. The vocabulary table lists the index's words, for the typo fallback of short
-- queries.
CREATE VIRTUAL TABLE kb_translation_fts USING fts5(
    title, body, content = 'kb_translations', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE kb_translation_vocabulary USING fts5vocab(kb_translation_fts, 'row');

CREATE TRIGGER kb_translation_fts_insert AFTER INSERT ON kb_translations BEGIN
    INSERT INTO kb_translation_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_translation_fts_update AFTER UPDATE OF title, body ON kb_translations BEGIN
    INSERT INTO kb_translation_fts (kb_translation_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO kb_translation_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER kb_translation_fts_delete AFTER DELETE ON kb_translations BEGIN
    INSERT INTO kb_translation_fts (kb_translation_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
