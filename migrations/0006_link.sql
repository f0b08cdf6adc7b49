-- Issue 14: an artifact's link is generic (`link`), no longer named after one store
-- (`testflight_url`). The rename moves every row, published releases' included, so the
-- artifacts' immutability triggers are dropped and re-created around it; distd runs each
-- migration in one transaction, so no moment exists without them. Audit rows are never
-- rewritten: old events keep the words they were written with and the hash chain verifies.
DROP TRIGGER artifacts_frozen_insert;
DROP TRIGGER artifacts_frozen_update;
DROP TRIGGER artifacts_frozen_delete;

ALTER TABLE artifacts RENAME COLUMN testflight_url TO link;

CREATE TRIGGER artifacts_frozen_insert BEFORE INSERT ON artifacts
WHEN (SELECT status FROM releases WHERE id = NEW.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
CREATE TRIGGER artifacts_frozen_update BEFORE UPDATE ON artifacts
WHEN (SELECT status FROM releases WHERE id = OLD.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
CREATE TRIGGER artifacts_frozen_delete BEFORE DELETE ON artifacts
WHEN (SELECT status FROM releases WHERE id = OLD.release_id) <> 'draft'
BEGIN SELECT RAISE(ABORT, 'published releases are immutable'); END;
