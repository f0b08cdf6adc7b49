-- Issue 14: an artifact's link is generic (`link`), no longer named after one store
-- (`testflight_url`), and one architecture has one stored name. Both move every row,
-- published releases' included, so the artifacts' immutability triggers are dropped and
-- re-created around them; distd runs each migration in one transaction, so no moment exists
-- without them. Audit rows are never rewritten: old events keep the words they were written
-- with, and the hash chain verifies.
DROP TRIGGER artifacts_frozen_insert;
DROP TRIGGER artifacts_frozen_update;
DROP TRIGGER artifacts_frozen_delete;

ALTER TABLE artifacts RENAME COLUMN testflight_url TO link;

-- As platform::Arch reads them (any case): amd64, x64, x86-64 are x86_64; aarch64 is arm64.
UPDATE artifacts SET arch = 'x86_64'
WHERE lower(arch) IN ('amd64', 'x64', 'x86-64', 'x86_64') AND arch <> 'x86_64';
UPDATE artifacts SET arch = 'arm64'
WHERE lower(arch) IN ('aarch64', 'arm64') AND arch <> 'arm64';

CREATE TRIGGER artifacts_frozen_insert BEFORE INSERT ON artifacts
WHEN (SELECT status FROM releases WHERE id = NEW.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
CREATE TRIGGER artifacts_frozen_update BEFORE UPDATE ON artifacts
WHEN (SELECT status FROM releases WHERE id = OLD.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
CREATE TRIGGER artifacts_frozen_delete BEFORE DELETE ON artifacts
WHEN (SELECT status FROM releases WHERE id = OLD.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
