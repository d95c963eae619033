//! `iocsync check` on every target: a read that changes nothing (the daemon's health probe
//! too), and with `--write` a harmless write undone at once, to prove each write permission
//! before the first run halts on a missing one. The value is `iocsync-permission-check.example`
//! (the `.example` domain is reserved by RFC 2606 and resolves nowhere), sent with iocsync's
//! marker, logged not blocked, expiring in a day, so even a removal that fails leaves nothing
//! that blocks.

use serde::Serialize;

/// The harmless value every write check adds and removes.
pub const CHECK_VALUE: &str = "iocsync-permission-check.example";
/// The description of what a write check makes.
pub const DESCRIPTION: &str =
    "[iocsync] permission check (`iocsync check --write`): removed at once";

/// One permission and how its check went.
#[derive(Debug, Serialize)]
pub struct WriteCheck {
    pub permission: &'static str,
    /// Why the write (or its undo) failed; `None`: the permission is there.
    pub error: Option<String>,
}

impl WriteCheck {
    pub fn of(permission: &'static str, result: Result<(), String>) -> WriteCheck {
        WriteCheck {
            permission,
            error: result.err(),
        }
    }
}
