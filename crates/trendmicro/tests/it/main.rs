//! Integration tests of the Trend Micro clients over real HTTP: against the emulator for every
//! product, and against small local servers for TLS and proxies.

mod apex_central;
mod common;
mod deep_security;
mod http_template;
mod policy;
mod transport;
mod vision_one;
mod vision_one_response;
mod xdr_v2;
