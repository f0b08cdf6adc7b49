-- Issue 12, item 6: how an app treats a file whose declared version or build differs from its
-- release's. 'warning' (the default) keeps today's behaviour; 'error' blocks the publish.
ALTER TABLE apps ADD COLUMN version_mismatch TEXT NOT NULL DEFAULT 'warning'
    CHECK (version_mismatch IN ('warning', 'error'));
