-- Workspaces (issue 5): what a grant's workspace keeps in the secure domain.
--
-- `workspace_keys`: the workspace's own data key (wrapped by the master key), which encrypts its
-- development tables. `workspace_dev_tables`: each development table, a desensitized sample or a
-- simulated copy of a granted resource's dataset version, and its encrypted object.
-- `workspace_queries`: every query submitted, run or refused: its text, environment, plan
-- fingerprint, outcome, a development run's verdict on production (JSON), the released result
-- (JSON; only what passed the output control) with its SM3 digest, the budget it spent and its
-- metering. `dp_spends`: each charge of a differentially
-- private query, per grant and per (legal entity, data population); `dp_ledgers`: the running
-- totals per ledger, updated only while they stay within the budget (the atomic check).

CREATE TABLE workspace_keys (
    grant_id      TEXT PRIMARY KEY REFERENCES grants(id),
    wrapped_key   TEXT NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE workspace_dev_tables (
    grant_id    TEXT NOT NULL REFERENCES grants(id),
    table_name  TEXT NOT NULL,
    resource_id TEXT NOT NULL REFERENCES resources(id),
    dataset_id  TEXT NOT NULL REFERENCES dataset_versions(id),
    mode        TEXT NOT NULL,
    object_path TEXT NOT NULL,
    rows_count  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES people(id),
    PRIMARY KEY (grant_id, table_name)
);

CREATE TABLE workspace_queries (
    id                TEXT PRIMARY KEY,
    grant_id          TEXT NOT NULL REFERENCES grants(id),
    env               TEXT NOT NULL,
    sql_text          TEXT NOT NULL,
    fingerprint       TEXT,
    outcome           TEXT NOT NULL,
    reason            TEXT,
    production        TEXT,
    dev_query_id      TEXT REFERENCES workspace_queries(id),
    repeat_of         TEXT REFERENCES workspace_queries(id),
    result            TEXT,
    result_sm3        TEXT,
    result_rows       BIGINT NOT NULL,
    epsilon_nano      BIGINT NOT NULL,
    delta_atto        BIGINT NOT NULL,
    suppressed_groups BIGINT NOT NULL,
    suppressed_rows   BIGINT NOT NULL,
    elapsed_us        BIGINT NOT NULL,
    compute_us        BIGINT NOT NULL,
    rows_scanned      BIGINT NOT NULL,
    bytes_fetched     BIGINT NOT NULL,
    output_bytes      BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    created_by        TEXT NOT NULL REFERENCES people(id)
);
CREATE INDEX workspace_queries_grant ON workspace_queries(grant_id, created_at);
CREATE INDEX workspace_queries_fingerprint ON workspace_queries(grant_id, env, fingerprint);

CREATE TABLE dp_spends (
    query_id     TEXT PRIMARY KEY REFERENCES workspace_queries(id),
    grant_id     TEXT NOT NULL REFERENCES grants(id),
    legal_entity TEXT NOT NULL,
    population   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    epsilon_nano BIGINT NOT NULL,
    delta_atto   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX dp_spends_grant ON dp_spends(grant_id, fingerprint);
CREATE INDEX dp_spends_population ON dp_spends(legal_entity, population, fingerprint);

CREATE TABLE dp_ledgers (
    level        TEXT NOT NULL,
    ledger_key   TEXT NOT NULL,
    epsilon_nano BIGINT NOT NULL,
    delta_atto   BIGINT NOT NULL,
    PRIMARY KEY (level, ledger_key)
);
