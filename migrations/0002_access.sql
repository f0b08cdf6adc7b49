-- The access model (README "Security model"): page access per app and channel, page and admin
-- sessions, which apps may use which blob (proof of possession), who created each token.

-- `token` (the default) or `public`: a published release is public when its app is public or
-- when a public channel points, or pointed, at it.
ALTER TABLE apps ADD COLUMN access TEXT NOT NULL DEFAULT 'token' CHECK (access IN ('public', 'token'));
ALTER TABLE channels ADD COLUMN access TEXT NOT NULL DEFAULT 'token' CHECK (access IN ('public', 'token'));

-- `tok_...:name` of the creator; NULL for tokens made before this column existed.
ALTER TABLE tokens ADD COLUMN created_by TEXT;

-- A blob is usable by an app once a caller of that app uploaded (or re-sent and verified) its
-- bytes, or an attached artifact of the app references it. Knowing a digest is not enough.
CREATE TABLE blob_apps (
    sha256 TEXT NOT NULL,
    app    TEXT NOT NULL REFERENCES apps(slug),
    at     TEXT NOT NULL,
    PRIMARY KEY (sha256, app)
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO blob_apps (sha256, app, at)
    SELECT a.sha256, r.app, COALESCE(a.attached_at, r.created_at)
    FROM artifacts a JOIN releases r ON r.id = a.release_id
    WHERE a.sha256 IS NOT NULL AND a.attached = 1;

-- Browser sessions: `page` (a download link exchanged for a cookie) and `admin` (the admin UI).
-- Only the SHA-256 of the cookie value is stored. A session acts with its token's rights, so
-- revoking the token ends its sessions.
CREATE TABLE sessions (
    hash       BLOB PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('page', 'admin')),
    token_id   TEXT NOT NULL REFERENCES tokens(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_expires ON sessions(expires_at);
