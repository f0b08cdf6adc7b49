-- dist schema v1. Applied once at start-up and recorded in schema_migrations.
-- Immutability of published releases and of the audit log is enforced here, by triggers,
-- so that no code path can get around it.

CREATE TABLE apps (
    slug       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    platforms  TEXT NOT NULL DEFAULT '[]',   -- JSON array of platform ids
    identity   TEXT NOT NULL DEFAULT '{}',   -- JSON platform::IdentityRules
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE releases (
    id            TEXT PRIMARY KEY,
    app           TEXT NOT NULL REFERENCES apps(slug),
    version       TEXT NOT NULL,
    build         TEXT NOT NULL,
    notes         TEXT,
    source        TEXT,                       -- JSON platform::manifest::Source
    status        TEXT NOT NULL CHECK (status IN ('draft', 'published', 'revoked')),
    fingerprint   TEXT NOT NULL,              -- sorted artifact digests and links, for idempotency
    created_at    TEXT NOT NULL,
    published_at  TEXT,
    revoked_at    TEXT,
    revoke_reason TEXT
) STRICT;
CREATE UNIQUE INDEX releases_app_version_build ON releases(app, version, build);
CREATE INDEX releases_app_created ON releases(app, created_at);

CREATE TABLE artifacts (
    id             TEXT PRIMARY KEY,
    release_id     TEXT NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    file_name      TEXT,
    sha256         TEXT,
    size           INTEGER,
    platform       TEXT,
    arch           TEXT,
    spec_install   TEXT,                      -- install mode the spec asked for
    install_mode   TEXT,                      -- the mode in effect once attached
    testflight_url TEXT,
    kind           TEXT,
    attached       INTEGER NOT NULL DEFAULT 0 CHECK (attached IN (0, 1)),
    inspection     TEXT,                      -- JSON platform::Inspection
    icon_sha256    TEXT,
    attached_at    TEXT
) STRICT;
CREATE INDEX artifacts_release ON artifacts(release_id, position);
CREATE INDEX artifacts_sha256 ON artifacts(sha256);

CREATE TABLE channels (
    app        TEXT NOT NULL REFERENCES apps(slug),
    name       TEXT NOT NULL,
    release_id TEXT REFERENCES releases(id),
    policy     TEXT NOT NULL DEFAULT '{}',    -- JSON platform::api::ChannelPolicy
    updated_at TEXT NOT NULL,
    PRIMARY KEY (app, name)
) STRICT;

CREATE TABLE channel_history (
    seq             INTEGER PRIMARY KEY,
    app             TEXT NOT NULL,
    channel         TEXT NOT NULL,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL CHECK (action IN ('promote', 'rollback')),
    from_release_id TEXT,
    to_release_id   TEXT,
    FOREIGN KEY (app, channel) REFERENCES channels(app, name)
) STRICT;
CREATE INDEX channel_history_channel ON channel_history(app, channel, seq);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,        -- SHA-256 of the secret; the secret is never stored
    scopes       TEXT NOT NULL,               -- JSON array of scopes
    app          TEXT,
    channels     TEXT NOT NULL DEFAULT '[]',  -- JSON array of channel names
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
) STRICT;

CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    app       TEXT,
    subject   TEXT,
    details   TEXT NOT NULL,                  -- JSON object
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_action ON audit_events(action, seq);

-- Audit log: append-only.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Channel history: append-only.
CREATE TRIGGER channel_history_no_update BEFORE UPDATE ON channel_history
BEGIN SELECT RAISE(ABORT, 'channel history is append-only'); END;
CREATE TRIGGER channel_history_no_delete BEFORE DELETE ON channel_history
BEGIN SELECT RAISE(ABORT, 'channel history is append-only'); END;

-- Published and revoked releases: identity columns are frozen, status only moves forward.
CREATE TRIGGER releases_frozen BEFORE UPDATE ON releases
WHEN OLD.status <> 'draft' AND (
       NEW.app IS NOT OLD.app OR NEW.version IS NOT OLD.version OR NEW.build IS NOT OLD.build
    OR NEW.id IS NOT OLD.id OR NEW.fingerprint IS NOT OLD.fingerprint
    OR NEW.created_at IS NOT OLD.created_at OR NEW.published_at IS NOT OLD.published_at
    OR NEW.notes IS NOT OLD.notes OR NEW.source IS NOT OLD.source)
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
CREATE TRIGGER releases_status_forward BEFORE UPDATE OF status ON releases
WHEN NOT ((OLD.status = NEW.status)
       OR (OLD.status = 'draft' AND NEW.status = 'published')
       OR (OLD.status = 'published' AND NEW.status = 'revoked'))
BEGIN SELECT RAISE(ABORT, 'release status only moves draft -> published -> revoked'); END;
CREATE TRIGGER releases_no_delete_published BEFORE DELETE ON releases
WHEN OLD.status <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;

-- Artifacts of a published or revoked release are frozen.
CREATE TRIGGER artifacts_frozen_insert BEFORE INSERT ON artifacts
WHEN (SELECT status FROM releases WHERE id = NEW.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
CREATE TRIGGER artifacts_frozen_update BEFORE UPDATE ON artifacts
WHEN (SELECT status FROM releases WHERE id = OLD.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
CREATE TRIGGER artifacts_frozen_delete BEFORE DELETE ON artifacts
WHEN (SELECT status FROM releases WHERE id = OLD.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
