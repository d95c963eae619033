//! The HTTP template workflow with a removal template (`remove_payload`): the shared suite
//! with the emulator as the receiver, adds posted to its suspicious-object endpoint and
//! removals to its delete endpoint, so a removal is undone on the target, one call per value.

mod common;

use common::Harness;
use common::suite::{Spec, compliance, ip};

const SPEC: Spec = Spec {
    target: "webhook-undo",
    action: "http",
    parameters: "",
    value: ip,
    held: Harness::suspicious,
    undoes: true,
    writes_for: |adds, removals| adds + removals,
    stop_after: 10,
    shared: true,
    emulator: emulator::EmulatorConfig::default,
    moves_target_clock: true,
};

compliance!(SPEC);
