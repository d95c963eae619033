//! Everything the emulated services hold, in memory behind one lock, and its JSON snapshot —
//! the same document serves `GET /_emulator/state` and the `--state` file loaded at start and
//! written at shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::apex_central::model::{UdsoObject, UdsoType};
use crate::clock::format_iso;
use crate::deep_security::model::{IpList, builtin_ip_lists};
use crate::error::EmulatorError;
use crate::tasks::{Outcome, Task};
use crate::vision_one::model::{ExceptionObject, ObjectType, SuspiciousObject};

pub use crate::vision_one::store::ObjectKey;
use crate::vision_one::store::SuspiciousStore;

/// A value blocked through the XDR v2 API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct XdrBlock {
    pub value_type: String,
    pub target_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unix seconds when the block took effect.
    pub since: i64,
}

/// The emulated services' data.
#[derive(Debug, Clone)]
pub struct State {
    pub suspicious: SuspiciousStore,
    pub exceptions: BTreeMap<ObjectKey, ExceptionObject>,
    pub ip_lists: BTreeMap<u32, IpList>,
    pub next_ip_list_id: u32,
    pub xdr_blocked: BTreeMap<(String, String), XdrBlock>,
    /// Apex Central's User-Defined Suspicious Objects by type and compared form.
    pub udso: BTreeMap<(UdsoType, String), UdsoObject>,
    pub tasks: BTreeMap<u64, Task>,
    pub next_task_id: u64,
    /// Last modification sequence number handed out.
    pub seq: u64,
    /// Time of the last expiry sweep: objects expire by the second, so one sweep per second.
    purged_at: Option<i64>,
    /// Every task with a smaller id has been applied.
    pub(crate) settled_upto: u64,
    /// Tasks that wait for an approval (settled, yet still open).
    awaiting_approval: BTreeSet<u64>,
}

impl Default for State {
    fn default() -> Self {
        let ip_lists: BTreeMap<u32, IpList> =
            builtin_ip_lists().into_iter().map(|l| (l.id, l)).collect();
        let next_ip_list_id = ip_lists.keys().max().map_or(1, |id| id + 1);
        Self {
            suspicious: SuspiciousStore::default(),
            exceptions: BTreeMap::new(),
            ip_lists,
            next_ip_list_id,
            xdr_blocked: BTreeMap::new(),
            udso: BTreeMap::new(),
            tasks: BTreeMap::new(),
            next_task_id: 1,
            seq: 0,
            purged_at: None,
            settled_upto: 0,
            awaiting_approval: BTreeSet::new(),
        }
    }
}

impl State {
    /// A fresh modification sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Records a new task.
    pub fn insert_task(&mut self, task: Task) {
        if task.outcome == Some(Outcome::PendingApproval) {
            self.awaiting_approval.insert(task.id);
        }
        self.tasks.insert(task.id, task);
    }

    /// The tasks that may still be open: those not settled yet (once [`crate::tasks::settle`]
    /// has run, every one still under way) and those waiting for an approval.
    pub fn open_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks
            .range(self.settled_upto..)
            .map(|(_, task)| task)
            .chain(
                self.awaiting_approval
                    .iter()
                    .filter_map(|id| self.tasks.get(id)),
            )
    }

    /// Drops suspicious objects and UDSOs whose expiry has passed (at most one sweep per second).
    pub fn purge_expired(&mut self, now: i64) {
        if self.purged_at == Some(now) {
            return;
        }
        self.purged_at = Some(now);
        self.suspicious.remove_expired(now);
        self.udso.retain(|_, object| !object.expired(now));
    }

    /// Whether an exception covers this suspicious value.
    pub fn in_exception_list(&self, kind: ObjectType, value: &str) -> bool {
        self.exceptions.contains_key(&(kind, kind.identity(value)))
            || self
                .exceptions
                .values()
                .any(|e| e.value.contains('*') && e.covers(kind, value))
    }

    /// The JSON document of the whole state.
    pub fn snapshot(&self, now: i64) -> Snapshot {
        Snapshot {
            now: format_iso(now),
            suspicious_objects: self.suspicious.values().cloned().collect(),
            exceptions: self.exceptions.values().cloned().collect(),
            ip_lists: self.ip_lists.values().cloned().collect(),
            next_ip_list_id: self.next_ip_list_id,
            xdr_blocked: self.xdr_blocked.values().cloned().collect(),
            udso: self.udso.values().cloned().collect(),
            tasks: self.tasks.values().cloned().collect(),
            next_task_id: self.next_task_id,
            seq: self.seq,
        }
    }

    /// Rebuilds the state from a snapshot.
    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let key = |kind: ObjectType, value: &str| (kind, kind.identity(value));
        let mut suspicious = SuspiciousStore::default();
        for object in snapshot.suspicious_objects {
            suspicious.insert(key(object.kind, &object.value), object);
        }
        let awaiting_approval = snapshot
            .tasks
            .iter()
            .filter(|t| t.outcome == Some(Outcome::PendingApproval))
            .map(|t| t.id)
            .collect();
        Self {
            suspicious,
            exceptions: snapshot
                .exceptions
                .into_iter()
                .map(|o| (key(o.kind, &o.value), o))
                .collect(),
            ip_lists: snapshot.ip_lists.into_iter().map(|l| (l.id, l)).collect(),
            next_ip_list_id: snapshot.next_ip_list_id,
            xdr_blocked: snapshot
                .xdr_blocked
                .into_iter()
                .map(|b| ((b.value_type.clone(), b.target_value.clone()), b))
                .collect(),
            udso: snapshot
                .udso
                .into_iter()
                .map(|o| ((o.kind, o.kind.identity(&o.content)), o))
                .collect(),
            tasks: snapshot.tasks.into_iter().map(|t| (t.id, t)).collect(),
            next_task_id: snapshot.next_task_id,
            seq: snapshot.seq,
            purged_at: None,
            settled_upto: 0,
            awaiting_approval,
        }
    }

    /// Loads a state file written by [`State::save`].
    pub fn load(path: &Path) -> Result<Self, EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::ReadState {
            path: path.to_owned(),
            source,
        })?;
        let snapshot: Snapshot =
            serde_json::from_str(&text).map_err(|source| EmulatorError::ParseState {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self::from_snapshot(snapshot))
    }

    /// Writes the state atomically (temporary file, then rename).
    pub fn save(&self, path: &Path, now: i64) -> Result<(), EmulatorError> {
        let write_err = |source| EmulatorError::WriteState {
            path: path.to_owned(),
            source,
        };
        let text = serde_json::to_string_pretty(&self.snapshot(now))
            .map_err(|e| write_err(std::io::Error::other(e)))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)
    }
}

/// Serializable view of [`State`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The emulator's clock when the snapshot was taken (informational; ignored on load).
    #[serde(default)]
    pub now: String,
    pub suspicious_objects: Vec<SuspiciousObject>,
    pub exceptions: Vec<ExceptionObject>,
    pub ip_lists: Vec<IpList>,
    pub next_ip_list_id: u32,
    pub xdr_blocked: Vec<XdrBlock>,
    /// Apex Central's User-Defined Suspicious Objects (absent from state files written before
    /// the emulator had them).
    #[serde(default)]
    pub udso: Vec<UdsoObject>,
    pub tasks: Vec<Task>,
    pub next_task_id: u64,
    pub seq: u64,
}
