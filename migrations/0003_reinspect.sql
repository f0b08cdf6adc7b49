-- Re-inspections (`distd reinspect`, and the background run at start-up after an inspector
-- change). The attach-time inspection in `artifacts` stays as it was (a published release's
-- artifacts are frozen); each changed verdict is stored here beside it, append-only.
-- No foreign key to artifacts: a deleted draft's history stays readable.

CREATE TABLE reinspections (
    seq               INTEGER PRIMARY KEY,
    artifact_id       TEXT NOT NULL,
    release_id        TEXT NOT NULL,
    inspector_version INTEGER NOT NULL,
    at                TEXT NOT NULL,
    previous_state    TEXT,                   -- signature state before this re-inspection
    state             TEXT NOT NULL,          -- signature state now
    worse             INTEGER NOT NULL CHECK (worse IN (0, 1)),
    inspection        TEXT NOT NULL           -- JSON platform::Inspection
) STRICT;
CREATE INDEX reinspections_artifact ON reinspections(artifact_id, seq);

-- One row per finished (not dry) run: which inspector version last looked at everything.
CREATE TABLE reinspect_runs (
    seq               INTEGER PRIMARY KEY,
    inspector_version INTEGER NOT NULL,
    started_at        TEXT NOT NULL,
    finished_at       TEXT NOT NULL,
    trigger           TEXT NOT NULL CHECK (trigger IN ('command', 'startup')),
    checked           INTEGER NOT NULL,
    changed           INTEGER NOT NULL,
    worse_published   INTEGER NOT NULL,
    failed            INTEGER NOT NULL
) STRICT;

CREATE TRIGGER reinspections_no_update BEFORE UPDATE ON reinspections
BEGIN SELECT RAISE(ABORT, 're-inspections are append-only'); END;
CREATE TRIGGER reinspections_no_delete BEFORE DELETE ON reinspections
BEGIN SELECT RAISE(ABORT, 're-inspections are append-only'); END;
CREATE TRIGGER reinspect_runs_no_update BEFORE UPDATE ON reinspect_runs
BEGIN SELECT RAISE(ABORT, 're-inspection runs are append-only'); END;
CREATE TRIGGER reinspect_runs_no_delete BEFORE DELETE ON reinspect_runs
BEGIN SELECT RAISE(ABORT, 're-inspection runs are append-only'); END;
