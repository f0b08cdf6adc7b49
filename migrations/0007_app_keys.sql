-- Issue 18: public keys an app's admin adds, against which targets verify signatures (rpm,
-- AppImage and debsigs OpenPGP signatures). One row per app, platform and key; the key is kept
-- as the admin sent it (armored or binary), the fingerprint as the platform's target read it.
CREATE TABLE app_keys (
    app         TEXT NOT NULL REFERENCES apps(slug),
    platform    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    label       TEXT NOT NULL,
    key         BLOB NOT NULL,
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    PRIMARY KEY (app, platform, fingerprint)
) STRICT;
