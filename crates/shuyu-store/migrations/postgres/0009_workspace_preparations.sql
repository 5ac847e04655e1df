-- Each preparation of a workspace's development tables, metered (SBX-8: desensitization work is a
-- basis of fees, CC19): rows read from the real data, rows written (desensitized samples or
-- simulated rows), and the time it took. Appended in the transaction that stores the tables.

CREATE TABLE workspace_preparations (
    grant_id     TEXT NOT NULL REFERENCES grants(id),
    mode         TEXT NOT NULL,
    rows_read    BIGINT NOT NULL,
    rows_written BIGINT NOT NULL,
    elapsed_us   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL REFERENCES people(id)
);

CREATE INDEX workspace_preparations_grant ON workspace_preparations (grant_id);
