//! Reading a workflow's members from the library. A workflow with a cap (Vision One lists,
//! Apex Central) reads, kind by kind in rank order, only until the members read fill its cap,
//! and counts the rest: its cost follows the cap, not the library (millions of URLs in the
//! library, 9,900 on the list). Other workflows read every member. Either way the members come
//! back in the collection's order, which is all the plan sees.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use guard::{Guard, Verdict};
use indicator::Kind;
use store::{Collection, IndicatorRecord, LedgerEntry, LibraryBackend};

use crate::error::EngineError;
use crate::mapping::Describer;
use crate::plan::{Unread, as_indicator};
use crate::targets::{self, Cap};
use config::Workflow;

/// The members a plan is made from.
#[derive(Debug, Default)]
pub struct Members {
    /// In the collection's order.
    pub records: Vec<IndicatorRecord>,
    /// Members not read, counted by the reason the plan reports for them (below the cap's
    /// line, or of a kind the action takes none of), and the claimed ones among them.
    pub unread: Unread,
}

/// What a read needs to tell whether a member would fill a place under the cap.
pub struct Reader<'a> {
    pub library: &'a dyn LibraryBackend,
    pub collection: &'a Collection,
    pub workflow: &'a Workflow,
    pub guard: &'a Guard,
    pub describe: &'a Describer<'a>,
    /// The workflow's claims: a claimed member left unread is told apart from one that left
    /// the collection.
    pub claims: &'a [LedgerEntry],
    pub now: DateTime<Utc>,
}

impl Reader<'_> {
    /// The workflow's members: every one, or for a capped workflow those the plan can keep.
    pub fn read(&self) -> Result<Members, EngineError> {
        let Some(cap) = targets::cap(&self.workflow.parameters) else {
            return Ok(Members {
                records: self.every_member()?,
                unread: Unread::default(),
            });
        };
        let mut members = Members::default();
        let mut unread_kinds = HashMap::new();
        for kind in Kind::ALL {
            if let Some(reason) = self.read_kind(kind, cap, &mut members)? {
                unread_kinds.insert(kind, reason);
            }
        }
        self.unread_claims(&unread_kinds, &mut members)?;
        let order = self.collection.order;
        members.records.sort_by(|a, b| order.compare(a, b));
        Ok(members)
    }

    /// Every member. A Deep Security IP list reads neither tags nor sources (its items are
    /// addresses and its lists carry no description per item), so it reads without them.
    fn every_member(&self) -> Result<Vec<IndicatorRecord>, EngineError> {
        if !matches!(self.workflow.parameters, config::Parameters::IpList(_)) {
            return Ok(self.library.members(self.collection, self.now, None)?);
        }
        let mut records = Vec::new();
        self.library
            .scan_lean(self.collection, self.now, &mut |record| {
                records.push(record);
                ControlFlow::Continue(())
            })?;
        Ok(records)
    }

    /// Why each claimed value not read was left out, when it still is a member: a claim's
    /// removal then says "over cap", not "left the collection". One look-up per such claim,
    /// and only the claims a run is about to remove are unread.
    fn unread_claims(
        &self,
        unread_kinds: &HashMap<Kind, String>,
        members: &mut Members,
    ) -> Result<(), EngineError> {
        let read: HashSet<(Kind, &str)> = members
            .records
            .iter()
            .map(|r| (r.kind, r.value.as_str()))
            .collect();
        let mut claims = HashMap::new();
        for claim in self.claims {
            let Some(reason) = unread_kinds.get(&claim.kind) else {
                continue;
            };
            if read.contains(&(claim.kind, claim.value.as_str())) {
                continue;
            }
            let Some(record) = self.library.indicator(claim.kind, &claim.value, self.now)? else {
                continue;
            };
            let votes = self.library.votes(claim.kind, &claim.value)?;
            if self
                .collection
                .exclusions(&record, &votes, self.now)
                .is_empty()
            {
                claims.insert((claim.kind, claim.value.clone()), reason.clone());
            }
        }
        members.unread.claims = claims;
        Ok(())
    }

    /// One kind's best members, until they make `cap` objects the plan may keep: enough for
    /// any value key the kind feeds, per type or in all (the plan's own cap then cuts exactly
    /// as it would with every member). Members the guard or the mapping refuse fill nothing,
    /// so the read goes on past them.
    /// Returns the reason its unread members are counted under, if some were left unread.
    fn read_kind(
        &self,
        kind: Kind,
        cap: Cap,
        members: &mut Members,
    ) -> Result<Option<String>, EngineError> {
        let total = self.library.count_kind(self.collection, kind, self.now)?;
        if total == 0 {
            return Ok(None);
        }
        if let Err(reason) = targets::takes(&self.workflow.parameters, kind) {
            members.unread.counts.push((reason.clone(), total));
            return Ok(Some(reason));
        }
        let mut filled = 0;
        // The visitor may run on another thread (the PostgreSQL backend's helper), so it
        // captures what `places` needs, not the reader and its library.
        let place = Placer {
            guard: self.guard,
            parameters: &self.workflow.parameters,
            describe: self.describe,
        };
        let visited =
            self.library
                .scan_kind(self.collection, kind, self.now, None, &mut |record| {
                    filled += place.places(&record);
                    members.records.push(record);
                    if filled >= cap.objects {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })?;
        // Counted as the plan's own cap counts what it cuts (the same reason), though some of
        // them the guard or the mapping would have refused first.
        let over = total.saturating_sub(visited);
        if over == 0 {
            return Ok(None);
        }
        let reason = format!("over cap ({} objects)", cap.objects);
        members.unread.counts.push((reason.clone(), over));
        Ok(Some(reason))
    }
}

/// What counting a record's objects against a cap needs.
struct Placer<'a> {
    guard: &'a Guard,
    parameters: &'a config::Parameters,
    describe: &'a Describer<'a>,
}

impl Placer<'_> {
    /// How many objects `record` would become: none when the guard stops it or the mapping
    /// refuses it.
    fn places(&self, record: &IndicatorRecord) -> usize {
        if self.guard.check(&as_indicator(record)) != Verdict::Allow {
            return 0;
        }
        match targets::objects(self.parameters, record, self.describe) {
            Some(Ok(objects)) => objects.len(),
            _ => 0,
        }
    }
}
