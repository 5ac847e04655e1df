-- Fusion imports (Changchun art. 18(3), Zhongwei art. 26): a merchant's own lawfully obtained data
-- brought into its workspace once the authority approves. The file is imported at request time
-- into the domain, encrypted under the workspace's data key (`workspace_keys`): `object_path` is
-- the production table, `dev_object_path` the development table (its join key hashed with the
-- workspace's key). `declaration` is the checked declaration as JSON (table, legal basis, columns
-- with type and control, join key and its format); `profiles` the per-column quality profiles
-- (counts and rates, never values). The row keeps the last review move; every move is an audit
-- event. A table name is held by one current (pending or approved) import per workspace.

CREATE TABLE fusion_imports (
    id              TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL REFERENCES grants(id),
    table_name      TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'withdrawn', 'revoked')),
    declaration     TEXT NOT NULL,
    object_path     TEXT NOT NULL,
    dev_object_path TEXT NOT NULL,
    rows_count      BIGINT NOT NULL,
    dev_rows        BIGINT NOT NULL,
    input_bytes     BIGINT NOT NULL,
    sm3             TEXT NOT NULL,
    profiles        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL REFERENCES people(id),
    decided_at      BIGINT,
    decided_by      TEXT REFERENCES people(id),
    reason          TEXT
);
CREATE INDEX fusion_imports_grant ON fusion_imports(grant_id, created_at);
CREATE UNIQUE INDEX fusion_imports_one_table ON fusion_imports(grant_id, table_name)
    WHERE state IN ('pending', 'approved');
