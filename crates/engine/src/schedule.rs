//! When scheduled workflows are due (placeholder until built).
