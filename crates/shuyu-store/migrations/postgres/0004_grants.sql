-- Grants (issue 5): the exact, time-bound permission of a merchant organisation to use data in the
-- secure domain. The grant itself (scenario, resources and granted fields with their controls and
-- desensitization, usage method, term, group size, budget, state and history) is JSON checked by
-- `shuyu-grant` when it was made; the columns beside it are what grants are found by. Each granted
-- resource version is also a row of `grant_resources`, so a version a grant rests on cannot vanish
-- and the grants of a resource are found without reading JSON.

CREATE TABLE grants (
    id           TEXT PRIMARY KEY,
    merchant_org TEXT NOT NULL REFERENCES orgs(id),
    operator_org TEXT NOT NULL REFERENCES orgs(id),
    workspace_id TEXT NOT NULL UNIQUE,
    state        TEXT NOT NULL,
    seeded       BIGINT NOT NULL,
    term_from    BIGINT NOT NULL,
    term_to      BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX grants_merchant ON grants(merchant_org);
CREATE INDEX grants_operator ON grants(operator_org);

CREATE TABLE grant_resources (
    grant_id            TEXT NOT NULL REFERENCES grants(id),
    resource_id         TEXT NOT NULL REFERENCES resources(id),
    resource_version_id TEXT NOT NULL REFERENCES resource_versions(id),
    PRIMARY KEY (grant_id, resource_id)
);
CREATE INDEX grant_resources_resource ON grant_resources(resource_id);
