//! The emulator over real HTTP: every endpoint, limit, error and fault, driven with reqwest
//! against `emulator::spawn`.

mod apex_central;
mod common;
mod control;
mod deep_security;
mod faults;
mod vision_one_add;
mod vision_one_list;
mod xdr_response;
