-- The catalog (issue 4): resources, their versions, national registration records and data quality
-- issues. A version keeps the checked draft as JSON text (re-validated against the profile on load)
-- plus copies of the columns the catalog is listed and searched by. Times are unix microseconds (UTC);
-- ids are UUID text; flags are 0/1 integers.

CREATE TABLE resources (
    id           TEXT PRIMARY KEY,
    provider_org TEXT NOT NULL REFERENCES orgs(id),
    created_at   BIGINT NOT NULL
);
CREATE INDEX resources_provider ON resources(provider_org);

CREATE TABLE resource_versions (
    id            TEXT PRIMARY KEY,
    resource_id   TEXT NOT NULL REFERENCES resources(id),
    number        BIGINT NOT NULL,
    draft         TEXT NOT NULL,
    name          TEXT NOT NULL,
    provider_org  TEXT NOT NULL REFERENCES orgs(id),
    domain        TEXT NOT NULL,
    open_category TEXT NOT NULL,
    grade         TEXT NOT NULL,
    state         TEXT NOT NULL,
    approved      BIGINT NOT NULL,
    state_at      BIGINT,
    state_by      TEXT REFERENCES people(id),
    reasons       TEXT,
    superseded_by BIGINT,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL REFERENCES people(id),
    UNIQUE (resource_id, number)
);
CREATE INDEX resource_versions_approved ON resource_versions(approved, domain);

CREATE TABLE registration_records (
    resource_id   TEXT PRIMARY KEY REFERENCES resources(id),
    version_id    TEXT NOT NULL REFERENCES resource_versions(id),
    details       TEXT NOT NULL,
    state         TEXT NOT NULL,
    notice_until  BIGINT,
    result_code   TEXT,
    changes       BIGINT NOT NULL DEFAULT 0,
    cancel_reason TEXT,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE quality_issues (
    id              TEXT PRIMARY KEY,
    resource_id     TEXT NOT NULL REFERENCES resources(id),
    field           TEXT,
    raised_by_org   TEXT NOT NULL REFERENCES orgs(id),
    text            TEXT NOT NULL,
    raised_at       BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    answered_at     BIGINT,
    answered_by_org TEXT REFERENCES orgs(id),
    answer          TEXT
);
CREATE INDEX quality_issues_resource ON quality_issues(resource_id);
