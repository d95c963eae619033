//! Address blocks (allowlisted CIDRs, warninglist CIDRs) and the two questions a guard asks of
//! them: is this network *inside* a block, and does this wider network *cover* a block.
//!
//! CIDR blocks never partly overlap: two are either disjoint or one holds the other. Sorted by
//! start (wider first on ties) they form a forest, and every block holding an address is an
//! ancestor of (or is) the last block starting at or before it. So a lookup is one binary
//! search plus a walk up a chain as long as the nesting is deep (a handful), whatever the size
//! of the lists.

use indicator::Kind;
use ipnet::IpNet;

use crate::rules::{RuleId, Rules, SetId};

#[derive(Debug)]
struct Block {
    start: u128,
    end: u128,
    net: IpNet,
    set: SetId,
    /// The innermost block holding this one.
    parent: Option<usize>,
}

/// The blocks of one address family.
#[derive(Debug, Default)]
struct Family {
    blocks: Vec<Block>,
}

/// The networks of an address or block, as `[start, end]` integers in its family.
fn span(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

impl Family {
    fn build(mut entries: Vec<(IpNet, RuleId)>, rules: &mut Rules) -> Family {
        entries.sort_by_key(|(net, _)| {
            let (start, end) = span(net);
            (start, std::cmp::Reverse(end))
        });
        let mut blocks: Vec<Block> = Vec::with_capacity(entries.len());
        for (net, rule) in entries {
            let (start, end) = span(&net);
            match blocks.last_mut() {
                Some(last) if last.start == start && last.end == end => {
                    last.set = rules.extend(Some(last.set), rule);
                }
                _ => {
                    let set = rules.extend(None, rule);
                    blocks.push(Block {
                        start,
                        end,
                        net: net.trunc(),
                        set,
                        parent: None,
                    });
                }
            }
        }
        link_parents(&mut blocks);
        Family { blocks }
    }

    /// The innermost block holding all of `[start, end]` with a rule for `kind`.
    fn inside(&self, rules: &Rules, start: u128, end: u128, kind: Kind) -> Option<(IpNet, RuleId)> {
        let last = self
            .blocks
            .partition_point(|b| b.start <= start)
            .checked_sub(1)?;
        let mut at = Some(last);
        while let Some(i) = at {
            let block = &self.blocks[i];
            if block.start <= start
                && end <= block.end
                && let Some(rule) = rules.first_for(block.set, kind)
            {
                return Some((block.net, rule));
            }
            at = block.parent;
        }
        None
    }

    /// The first block with a rule for `kind` that starts within `[start, end]` (and so lies
    /// inside it, blocks holding it having been asked about first).
    fn covered(
        &self,
        rules: &Rules,
        start: u128,
        end: u128,
        kind: Kind,
    ) -> Option<(IpNet, RuleId)> {
        let first = self.blocks.partition_point(|b| b.start < start);
        self.blocks[first..]
            .iter()
            .take_while(|b| b.start <= end)
            .filter(|b| b.end <= end)
            .find_map(|b| rules.first_for(b.set, kind).map(|rule| (b.net, rule)))
    }
}

/// Sets each block's parent with a stack of the currently open blocks.
fn link_parents(blocks: &mut [Block]) {
    let mut open: Vec<usize> = Vec::new();
    for i in 0..blocks.len() {
        while let Some(&top) = open.last() {
            if blocks[top].end >= blocks[i].end {
                break;
            }
            open.pop();
        }
        blocks[i].parent = open.last().copied();
        open.push(i);
    }
}

/// Collects blocks before the tables are built.
#[derive(Debug, Default)]
pub(crate) struct NetTableBuilder {
    v4: Vec<(IpNet, RuleId)>,
    v6: Vec<(IpNet, RuleId)>,
}

impl NetTableBuilder {
    pub(crate) fn add(&mut self, net: IpNet, rule: RuleId) {
        match net {
            IpNet::V4(_) => self.v4.push((net, rule)),
            IpNet::V6(_) => self.v6.push((net, rule)),
        }
    }

    pub(crate) fn build(self, rules: &mut Rules) -> NetTable {
        NetTable {
            v4: Family::build(self.v4, rules),
            v6: Family::build(self.v6, rules),
        }
    }
}

/// All address blocks, by family.
#[derive(Debug, Default)]
pub(crate) struct NetTable {
    v4: Family,
    v6: Family,
}

/// How a network meets a listed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meet {
    /// The network lies inside the block.
    Inside,
    /// The network is wider and holds the block.
    Covers,
}

impl NetTable {
    fn family(&self, net: &IpNet) -> &Family {
        match net {
            IpNet::V4(_) => &self.v4,
            IpNet::V6(_) => &self.v6,
        }
    }

    /// The block `net` meets, if any, with the rule (for `kind`) that lists it.
    pub(crate) fn find(
        &self,
        rules: &Rules,
        net: &IpNet,
        kind: Kind,
    ) -> Option<(Meet, IpNet, RuleId)> {
        let family = self.family(net);
        let (start, end) = span(net);
        if let Some((block, rule)) = family.inside(rules, start, end, kind) {
            return Some((Meet::Inside, block, rule));
        }
        family
            .covered(rules, start, end, kind)
            .map(|(block, rule)| (Meet::Covers, block, rule))
    }
}
