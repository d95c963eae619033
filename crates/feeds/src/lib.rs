//! feeds (being built).
