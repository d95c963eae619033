//! What iocsync publishes as a TAXII 2.1 server: one row per value of a served collection,
//! holding the latest version of its STIX object and where that version stands in the
//! collection's order of changes. The engine decides what to publish; the store keeps it and
//! serves it back in order.

use chrono::{DateTime, Utc};
use indicator::Kind;

/// The latest published version of one value's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub kind: Kind,
    pub value: String,
    /// How often the value came back after being revoked (its id changes each time).
    pub generation: u32,
    /// The object's content without its times: what tells a changed value.
    pub digest: String,
    pub revoked: bool,
    /// Its place in the collection's changes (set by the store when published).
    pub seq: u64,
    /// When this version was published (set by the store: strictly later than the last).
    pub added: DateTime<Utc>,
    /// The STIX object, JSON.
    pub object: String,
}

/// A page of a collection's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub objects: Vec<Published>,
    /// Whether more follow the last one.
    pub more: bool,
}
