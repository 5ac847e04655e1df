-- Freezes (SBX-9): the authority (or, for a merchant it serves, the operator running its grants)
-- stops a merchant organisation (all its workspaces), an operator organisation (every grant it
-- runs) or a catalog resource's supply (every grant over it), with a reason, and lifts the freeze
-- with a reason. A row is never deleted: a lifted freeze keeps who lifted it, when and why.
-- `target_id` is an organisation's or a resource's id, by `target_kind`; it has no foreign key
-- because it points at one of two tables. The numbering skips 0005 on purpose (reserved).

CREATE TABLE freezes (
    id            TEXT PRIMARY KEY,
    target_kind   TEXT NOT NULL CHECK (target_kind IN ('merchant', 'operator', 'resource_supply')),
    target_id     TEXT NOT NULL,
    frozen_at     BIGINT NOT NULL,
    frozen_by     TEXT NOT NULL REFERENCES people(id),
    frozen_by_org TEXT NOT NULL REFERENCES orgs(id),
    reason        TEXT NOT NULL,
    lifted_at     BIGINT,
    lifted_by     TEXT REFERENCES people(id),
    lift_reason   TEXT,
    CHECK ((lifted_at IS NULL AND lifted_by IS NULL AND lift_reason IS NULL)
        OR (lifted_at IS NOT NULL AND lifted_by IS NOT NULL AND lift_reason IS NOT NULL))
);
-- One active freeze per target.
CREATE UNIQUE INDEX freezes_one_active ON freezes(target_kind, target_id) WHERE lifted_at IS NULL;
