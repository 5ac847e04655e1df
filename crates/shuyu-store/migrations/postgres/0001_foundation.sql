-- Foundation: organisations, people, personnel records, sessions, API tokens, SSO logins and the audit
-- chain. Times are unix microseconds (UTC); ids are UUID text; flags are 0/1 integers, so that one set
-- of queries serves SQLite and PostgreSQL.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    org_type    TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE people (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id),
    username              TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    role                  TEXT NOT NULL,
    password_hash         TEXT,
    totp_secret           TEXT,
    totp_last_step        BIGINT NOT NULL DEFAULT 0,
    failed_logins         BIGINT NOT NULL DEFAULT 0,
    locked_until          BIGINT,
    active                BIGINT NOT NULL DEFAULT 1,
    real_name_verified_at BIGINT,
    real_name_verified_by TEXT REFERENCES people(id),
    agreement_version     TEXT,
    agreement_accepted_at BIGINT,
    sso_subject           TEXT UNIQUE,
    created_at            BIGINT NOT NULL
);
CREATE INDEX people_org ON people(org_id);

CREATE TABLE training_records (
    id           TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES people(id),
    topic        TEXT NOT NULL,
    completed_on TEXT NOT NULL,
    recorded_by  TEXT NOT NULL REFERENCES people(id),
    recorded_at  BIGINT NOT NULL
);
CREATE INDEX training_person ON training_records(person_id);

CREATE TABLE sessions (
    digest        TEXT PRIMARY KEY,
    person_id     TEXT NOT NULL REFERENCES people(id),
    csrf          TEXT NOT NULL,
    second_factor BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    hint       TEXT NOT NULL,
    name       TEXT NOT NULL,
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    role       TEXT NOT NULL,
    owner_id   TEXT NOT NULL REFERENCES people(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_owner ON api_tokens(owner_id);

CREATE TABLE sso_logins (
    state      TEXT PRIMARY KEY,
    verifier   TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    return_to  TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    seq          BIGINT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor_person TEXT,
    actor_org    TEXT,
    role         TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    digest       BYTEA NOT NULL,
    request_id   TEXT NOT NULL,
    source       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    prev_hash    BYTEA NOT NULL,
    hash         BYTEA NOT NULL
);
CREATE INDEX audit_at ON audit_events(at);
CREATE INDEX audit_actor ON audit_events(actor_person);
CREATE INDEX audit_org ON audit_events(actor_org);
CREATE INDEX audit_object ON audit_events(object_type, object_id);
CREATE INDEX audit_action ON audit_events(action);

CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    hash      BYTEA NOT NULL,
    at        BIGINT NOT NULL,
    key_id    TEXT NOT NULL,
    signature BYTEA NOT NULL
);

-- The chain head: one row, locked by every writing transaction, so appends are serial across
-- processes.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
