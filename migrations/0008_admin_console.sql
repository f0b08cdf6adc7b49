-- The admin console (issue 21): its audit filters read one app's or one actor's events, newest
-- first, and a time range; these indexes keep each a range instead of a scan of the whole log.
-- Sign-out deletes a session by its hash (the primary key); revoking a token ends its sessions
-- through the token check, so no index on token_id is needed.
CREATE INDEX audit_events_app ON audit_events(app, seq);
CREATE INDEX audit_events_actor ON audit_events(actor, seq);
CREATE INDEX audit_events_at ON audit_events(at);
