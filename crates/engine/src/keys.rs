//! Every name the engine writes into the library, built and read in one place: ledger keys
//! (who claims a value), spaces (which list on a target an object lives in), run names and
//! lease names. The formats of ledger keys and run names predate this module and are kept, so
//! existing libraries read the same.

use config::Workflow;

pub use crate::targets::List;

/// The ledger key of a workflow's claims: `<target>/<workflow>`.
pub fn workflow_ledger(target: &str, workflow: &str) -> String {
    format!("{target}/{workflow}")
}

/// The ledger key of one-off blocks (`iocsync block`) on `target`: `<target>/manual`.
pub fn manual_ledger(target: &str) -> String {
    format!("{target}/{MANUAL}")
}

/// The ledger key of a trigger's blocks: `<target>/hook:<trigger>`.
pub fn trigger_ledger(target: &str, trigger: &str) -> String {
    format!("{target}/{TRIGGER}{trigger}")
}

/// A workflow may not be named so ([`config::valid_workflow_name`]).
const MANUAL: &str = config::MANUAL_CLAIMANT;
const TRIGGER: &str = config::TRIGGER_CLAIMANT_PREFIX;

/// Who a ledger key says claims a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimant<'a> {
    Workflow(&'a str),
    /// `iocsync block`.
    Manual,
    Trigger(&'a str),
}

impl<'a> Claimant<'a> {
    /// Reads a ledger key; `None` for a key no claimant writes.
    pub fn of(ledger_key: &'a str) -> Option<Claimant<'a>> {
        let (_, name) = ledger_key.rsplit_once('/')?;
        Some(if name == MANUAL {
            Claimant::Manual
        } else if let Some(trigger) = name.strip_prefix(TRIGGER) {
            Claimant::Trigger(trigger)
        } else {
            Claimant::Workflow(name)
        })
    }

    /// Whether this claimant is a workflow (whose objects make room for one-off blocks).
    pub fn is_workflow(&self) -> bool {
        matches!(self, Claimant::Workflow(_))
    }

    /// How reports name it: `workflow a`, `iocsync block`, `trigger siem`.
    pub fn describe(&self) -> String {
        match self {
            Claimant::Workflow(name) => format!("workflow `{name}`"),
            Claimant::Manual => "`iocsync block`".to_owned(),
            Claimant::Trigger(name) => format!("trigger `{name}`"),
        }
    }
}

/// The keys of a workflow's claims and objects. A trait here rather than methods of
/// [`config::Workflow`]: ledger keys and spaces are the engine's names in the library, which the
/// config file model does not need to know.
pub trait WorkflowKeys {
    /// The ledger key of this workflow's claims (one per target and workflow).
    fn ledger_key(&self) -> String;
    /// The list on its target this workflow's objects live in.
    fn list(&self) -> List<'_>;
    /// The space key of [`WorkflowKeys::list`].
    fn space(&self) -> String;
}

impl WorkflowKeys for Workflow {
    fn ledger_key(&self) -> String {
        workflow_ledger(&self.target, &self.name)
    }

    fn list(&self) -> List<'_> {
        crate::targets::list_of(&self.parameters)
    }

    fn space(&self) -> String {
        space(&self.target, self.list())
    }
}

/// The space of `list` on `target`: `<target>#<list>` ([`List::name`]).
pub fn space(target: &str, list: List<'_>) -> String {
    format!("{target}#{}", list.name())
}

/// The lease a writing run of `workflow` holds: `workflow:<name>`.
pub fn workflow_lease(workflow: &str) -> String {
    format!("{WORKFLOW_LEASE}{workflow}")
}

/// The workflow a lease name belongs to.
pub fn lease_workflow(lease: &str) -> &str {
    lease.strip_prefix(WORKFLOW_LEASE).unwrap_or(lease)
}

const WORKFLOW_LEASE: &str = "workflow:";

/// The lease a daemon holds while it pulls `feed`: `feed:<name>`.
pub fn feed_lease(feed: &str) -> String {
    format!("feed:{feed}")
}

/// The lease a daemon holds while it lifts the blocks of trigger `name` whose TTL passed:
/// `lift:<name>`.
pub fn lift_lease(trigger: &str) -> String {
    format!("lift:{trigger}")
}

/// The lease a running daemon renews every tick, so the others see it: `daemon:<host>:<pid>`.
pub fn daemon_lease(host: &str, pid: u32) -> String {
    format!("{DAEMON_LEASE}{host}:{pid}")
}

/// Whether a lease name is a daemon's presence ([`daemon_lease`]).
pub fn is_daemon_lease(lease: &str) -> bool {
    lease.starts_with(DAEMON_LEASE)
}

const DAEMON_LEASE: &str = "daemon:";

/// Where the library keeps when `workflow` last had a verifying pass (a feed cursor key:
/// `verify-pass:<name>`, a name no feed URL or TAXII collection key takes).
pub fn verify_pass(workflow: &str) -> String {
    format!("verify-pass:{workflow}")
}

/// Where the library keeps the space a ledger's claims last joined ([`crate::claims::join_space`]):
/// `claim-space:<ledger>`, a name no feed URL or TAXII collection key takes.
pub fn claim_space(ledger: &str) -> String {
    format!("claim-space:{ledger}")
}

/// The lease held while one batch changes the objects of `space` (claims are re-read and
/// objects written under it, so two processes never decide on one object at once).
pub fn space_lease(space: &str) -> String {
    format!("space:{space}")
}

/// Run names of what is not a workflow.
pub mod runs {
    /// A call of trigger `name`.
    pub fn trigger(name: &str) -> String {
        format!("{}{name}", super::TRIGGER)
    }

    /// TTL lifts of trigger `name`.
    pub fn lift(name: &str) -> String {
        format!("lift:{name}")
    }

    /// `iocsync block` / `unblock` on `target`.
    pub fn one_off(verb: &str, target: &str) -> String {
        format!("{verb}:{target}")
    }

    /// Whether a run name is a trigger call.
    pub fn is_trigger(run: &str) -> bool {
        run.starts_with(super::TRIGGER)
    }

    /// The trigger a trigger-call run name names.
    pub fn trigger_of(run: &str) -> Option<&str> {
        run.strip_prefix(super::TRIGGER)
    }

    /// The trigger whose TTL lifts a lift run name records.
    pub fn lift_of(run: &str) -> Option<&str> {
        run.strip_prefix("lift:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_keys_read_back_as_their_claimant() {
        assert_eq!(
            Claimant::of(&workflow_ledger("v1", "a")),
            Some(Claimant::Workflow("a"))
        );
        assert_eq!(Claimant::of(&manual_ledger("v1")), Some(Claimant::Manual));
        assert_eq!(
            Claimant::of(&trigger_ledger("v1", "siem")),
            Some(Claimant::Trigger("siem"))
        );
        // A target name with a slash still reads by its last segment.
        assert_eq!(
            Claimant::of(&workflow_ledger("a/b", "c")),
            Some(Claimant::Workflow("c"))
        );
        assert!(!config::valid_workflow_name("manual"));
        assert!(!config::valid_workflow_name("hook:x"));
        assert!(!config::valid_workflow_name("a/b"));
        assert!(config::valid_workflow_name("v1-blocklist"));
    }
}
