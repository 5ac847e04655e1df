-- Datasets (issue 4): a dataset version is data hooked (挂接) to an approved resource version. The
-- data itself is an encrypted Parquet object in the object store; here are its path, its data key
-- wrapped by the master key (`master_key_id` names which, so rotation finds what to re-wrap), its
-- sizes, the SM3 digest of its plaintext Parquet (the same data uploaded twice is refused by the
-- uniqueness rule), and the per-field quality profiles (aggregates only, never values).

CREATE TABLE dataset_versions (
    id                  TEXT PRIMARY KEY,
    resource_id         TEXT NOT NULL REFERENCES resources(id),
    resource_version_id TEXT NOT NULL REFERENCES resource_versions(id),
    resource_number     BIGINT NOT NULL,
    number              BIGINT NOT NULL,
    object_path         TEXT NOT NULL,
    wrapped_key         TEXT NOT NULL,
    master_key_id       TEXT NOT NULL,
    rows_count          BIGINT NOT NULL,
    input_bytes         BIGINT NOT NULL,
    parquet_bytes       BIGINT NOT NULL,
    sm3                 TEXT NOT NULL,
    encoding            TEXT,
    profiles            TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    created_by          TEXT NOT NULL REFERENCES people(id),
    UNIQUE (resource_id, number),
    UNIQUE (resource_id, sm3),
    UNIQUE (object_path)
);
CREATE INDEX dataset_versions_master_key ON dataset_versions(master_key_id);
