-- Webhook replay memory and workflow leases, both shared by every process on the library.
-- Times are Unix milliseconds (UTC).

-- Signatures of webhook calls already let in, kept until their timestamp window has passed so
-- a captured call cannot be replayed after a daemon restart. Only a SHA-256 of the signature
-- is stored, never the signature.
CREATE TABLE hook_signatures (
    trigger        TEXT    NOT NULL,
    signature_hash BLOB    NOT NULL,
    seen_at        INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (trigger, signature_hash)
) WITHOUT ROWID;

CREATE INDEX hook_signatures_by_expiry ON hook_signatures (expires_at);

-- Who is running a workflow now: one row per workflow in flight, so two processes never run
-- one workflow at once. A holder that died leaves its row; it is taken over once expired or
-- once its process is known to be gone.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    host       TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    taken_at   INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
