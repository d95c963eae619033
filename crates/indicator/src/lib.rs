//! indicator (being built).
