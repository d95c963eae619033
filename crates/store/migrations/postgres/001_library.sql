-- The PostgreSQL library: the schema of the SQLite library as of its migration 009, in one
-- step (PostgreSQL libraries start there). Times are Unix milliseconds (UTC), as in SQLite,
-- except taxii_objects.added (microseconds). Text that is sorted or compared for order is
-- COLLATE "C", so every order is byte order, as SQLite's.

CREATE TABLE indicators (
    id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text    COLLATE "C" NOT NULL,
    value       text    COLLATE "C" NOT NULL,
    display     text,
    score       integer CHECK (score BETWEEN 0 AND 10),
    class       text    NOT NULL CHECK (class IN ('indicator', 'asset')),
    status      text    NOT NULL CHECK (status IN ('active', 'expired', 'revoked', 'disabled')),
    revoked     boolean NOT NULL DEFAULT false,
    disabled    boolean NOT NULL DEFAULT false,
    description text,
    first_seen  bigint  NOT NULL,
    last_seen   bigint  NOT NULL,
    valid_until bigint,
    sightings   bigint  NOT NULL DEFAULT 1,
    updated_at  bigint  NOT NULL,
    UNIQUE (kind, value)
);

-- A collection's members of one kind in rank order (SQLite's 006/009): unscored last.
CREATE INDEX indicators_by_rank
    ON indicators (kind, score DESC NULLS LAST, last_seen DESC, value, status, valid_until, class);

CREATE TABLE indicator_sources (
    indicator_id bigint  NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    source       text    COLLATE "C" NOT NULL,
    score        integer CHECK (score BETWEEN 0 AND 10),
    revoked      boolean NOT NULL DEFAULT false,
    first_seen   bigint  NOT NULL,
    last_seen    bigint  NOT NULL,
    reported_at  bigint,
    PRIMARY KEY (indicator_id, source)
);

CREATE TABLE indicator_tags (
    indicator_id bigint NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
    tag          text   COLLATE "C" NOT NULL,
    PRIMARY KEY (indicator_id, tag)
);

CREATE TABLE collections (
    name       text   COLLATE "C" PRIMARY KEY,
    definition text   NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE ledger (
    target     text   COLLATE "C" NOT NULL,
    kind       text   COLLATE "C" NOT NULL,
    value      text   COLLATE "C" NOT NULL,
    attributes text   NOT NULL,
    remote_id  text,
    pushed_at  bigint NOT NULL,
    space      text   COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (target, kind, value)
);
CREATE INDEX ledger_by_space ON ledger (space, kind, value);

CREATE TABLE runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow    text   COLLATE "C" NOT NULL,
    started_at  bigint NOT NULL,
    finished_at bigint,
    status      text   NOT NULL CHECK (status IN
                    ('running', 'succeeded', 'partial', 'failed', 'held', 'interrupted')),
    counts      text   NOT NULL DEFAULT '{}',
    errors      text   NOT NULL DEFAULT '[]',
    subject     text
);
CREATE INDEX runs_by_workflow ON runs (workflow, started_at DESC);

CREATE TABLE run_items (
    run_id  bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     bigint NOT NULL,
    outcome text   NOT NULL,
    kind    text,
    value   text   NOT NULL,
    detail  text,
    until   bigint,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE cursors (
    feed       text   COLLATE "C" PRIMARY KEY,
    cursor     text   NOT NULL,
    updated_at bigint NOT NULL
);

CREATE TABLE guard_drops (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind   text   NOT NULL,
    value  text   NOT NULL,
    target text,
    rule   text   NOT NULL,
    reason text   NOT NULL,
    at     bigint NOT NULL
);
CREATE INDEX guard_drops_by_time ON guard_drops (at DESC);

-- Only a SHA-256 of each webhook signature is stored, never the signature.
CREATE TABLE hook_signatures (
    trigger        text   NOT NULL,
    signature_hash bytea  NOT NULL,
    seen_at        bigint NOT NULL,
    expires_at     bigint NOT NULL,
    PRIMARY KEY (trigger, signature_hash)
);
CREATE INDEX hook_signatures_by_expiry ON hook_signatures (expires_at);

CREATE TABLE leases (
    name       text   PRIMARY KEY,
    holder     text   NOT NULL,
    host       text   NOT NULL,
    pid        bigint NOT NULL,
    taken_at   bigint NOT NULL,
    expires_at bigint NOT NULL,
    started    text
);

CREATE TABLE library_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO library_meta (key, value)
    VALUES ('id', substr(md5(random()::text || clock_timestamp()::text), 1, 8));

CREATE TABLE feeds (
    name          text    COLLATE "C" PRIMARY KEY,
    last_pull     bigint  NOT NULL,
    outcome       text    NOT NULL CHECK (outcome IN ('applied', 'unchanged', 'held', 'failed')),
    reason        text,
    listed        bigint  NOT NULL DEFAULT 0,
    new           bigint  NOT NULL DEFAULT 0,
    withdrawn     bigint  NOT NULL DEFAULT 0,
    invalid       bigint  NOT NULL DEFAULT 0,
    live          bigint  NOT NULL DEFAULT 0,
    applied_at    bigint,
    confirmed_at  bigint,
    etag          text,
    last_modified text,
    content_hash  text,
    held_hash     text,
    cursor        text
);

CREATE TABLE library_changes (
    id      integer PRIMARY KEY CHECK (id = 1),
    counter bigint  NOT NULL
);
INSERT INTO library_changes (id, counter) VALUES (1, 0);

CREATE TABLE workflow_state (
    workflow     text   PRIMARY KEY,
    counter      bigint NOT NULL,
    digest       text   NOT NULL,
    next_due     bigint,
    completed_at bigint NOT NULL
);

CREATE TABLE ledger_changes (
    space    text   COLLATE "C" NOT NULL,
    claimant text   COLLATE "C" NOT NULL,
    counter  bigint NOT NULL,
    PRIMARY KEY (space, claimant)
);

CREATE TABLE taxii_objects (
    collection text    NOT NULL,
    kind       text    NOT NULL,
    value      text    NOT NULL,
    generation bigint  NOT NULL,
    digest     text    NOT NULL,
    revoked    boolean NOT NULL,
    seq        bigint  NOT NULL,
    added      bigint  NOT NULL,
    object     text    NOT NULL,
    PRIMARY KEY (collection, kind, value)
);
CREATE UNIQUE INDEX taxii_objects_by_seq ON taxii_objects (collection, seq);
