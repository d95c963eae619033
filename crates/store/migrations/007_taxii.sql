-- What iocsync publishes as a TAXII 2.1 server: the latest version of each value's STIX
-- object, per served collection. `seq` orders the collection's changes (a new object, a changed
-- one, a revocation each take the next number); `added` (Unix µs) is when that version was
-- published, strictly increasing with `seq`, so `added_after` polls see every change exactly
-- once. `generation` counts how often the value came back after a revocation (a revoked STIX
-- object is never un-revoked: a value that returns gets a new id). `digest` is the object's
-- content without its times, so an unchanged value is not published again.
CREATE TABLE taxii_objects (
    collection TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    digest     TEXT    NOT NULL,
    revoked    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    added      INTEGER NOT NULL,
    object     TEXT    NOT NULL,
    PRIMARY KEY (collection, kind, value)
) WITHOUT ROWID;
CREATE UNIQUE INDEX taxii_objects_by_seq ON taxii_objects (collection, seq);
