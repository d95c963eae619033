//! Vision One suspicious-object and exception lists: mapping, apply, read-back, one-offs; and
//! the v3 response block list ([`response`]), whose blocks land on the suspicious-object list.

pub mod adopt;
pub mod apply;
pub mod mapping;
pub mod oneoff;
pub mod readback;
pub mod response;

use trendmicro::vision_one::VisionOneClient;

use crate::error::EngineError;
use config::{Capacity, Target, VisionOneTarget};

/// Which Vision One list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Suspicious,
    Exceptions,
}

/// A Vision One target's lists, connected: the client, its batch size, and how many sends an
/// item answered with a server error gets over a run.
pub struct Lists {
    pub client: VisionOneClient,
    batch: usize,
    rounds: u32,
    /// Batches in flight at once (the target's `max_concurrency`).
    overlap: usize,
    suspicious: Capacity,
    exceptions: Capacity,
}

impl Lists {
    /// Builds the client of `target` (whose settings are `settings`).
    pub fn open(target: &Target, settings: &VisionOneTarget) -> Result<Lists, EngineError> {
        let mut config = settings.config(target)?;
        let batch = config.suspicious_batch_size;
        // The engine re-sends items with server errors itself, in rounds over the whole plan
        // (see `apply`), so the client sends each item once per call.
        let rounds = std::mem::replace(&mut config.item_attempts, 1);
        Ok(Lists {
            client: VisionOneClient::new(&config)?,
            batch,
            rounds,
            overlap: config.http.max_concurrency.max(1),
            suspicious: settings.suspicious_capacity(),
            exceptions: settings.exception_capacity(),
        })
    }

    /// What `apply` needs to write list `kind`.
    pub fn destination(&self, kind: Kind) -> apply::VisionOne<'_> {
        apply::VisionOne {
            client: &self.client,
            list: kind,
            batch: self.batch,
            rounds: self.rounds,
            overlap: self.overlap,
            capacity: Some(match kind {
                Kind::Suspicious => self.suspicious,
                Kind::Exceptions => self.exceptions,
            }),
        }
    }
}
pub mod check;
