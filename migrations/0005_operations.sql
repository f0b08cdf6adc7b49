-- Issue 11 (operations). 0004 is another change's number; each migration stands alone.

-- Releases are listed newest first, page by page: with the id in the index, a page deep in a
-- long list is a range scan, not a sort of every release of the app.
CREATE INDEX releases_app_created_id ON releases(app, created_at, id);

-- Resumable uploads outlive a restart: the bytes stay in uploads/<sha256>.partial, and this row
-- says whose they are (only that app resumes them; the token's partial bytes are capped) and
-- since when (partials older than DIST_PARTIAL_TTL_HOURS are removed, on the audit record).
CREATE TABLE partial_uploads (
    sha256     TEXT PRIMARY KEY,
    app        TEXT NOT NULL,
    token_id   TEXT NOT NULL,
    total      INTEGER NOT NULL CHECK (total >= 0),
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX partial_uploads_token ON partial_uploads(token_id);

-- Retention (distd gc --releases): a release outside the policy is revoked, then removed:
-- its row, artifacts and history stay on record, but its files no longer count as referenced,
-- so gc frees their space once nothing else refers to them. Only a revoked release is removed,
-- and only once.
ALTER TABLE releases ADD COLUMN removed_at TEXT;
CREATE TRIGGER releases_removed_once BEFORE UPDATE OF removed_at ON releases
WHEN OLD.removed_at IS NOT NULL OR (NEW.removed_at IS NOT NULL AND NEW.status <> 'revoked')
BEGIN SELECT RAISE(ABORT, 'only a revoked release is removed, and once'); END;
