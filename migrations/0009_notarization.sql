-- Issue 16: the notarization submission dist.json lists with a file (its id and the status the
-- notary service reported), recorded with the artifact as the release is created and shown
-- beside what the file carries. Both NULL when none is listed (every row before this one).
-- Adding nullable columns rewrites no row, so the artifacts' immutability triggers stay.
ALTER TABLE artifacts ADD COLUMN notarization_submission_id TEXT;
ALTER TABLE artifacts ADD COLUMN notarization_status TEXT
    CHECK (notarization_status IN ('accepted', 'in-progress', 'invalid', 'rejected'));
