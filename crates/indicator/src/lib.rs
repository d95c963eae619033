//! Threat indicators: what they are ([`Kind`]), how defanged text is refanged ([`refang`]), how
//! each kind is validated and put in one canonical form ([`parse`], [`parse_as`]), how they are
//! found in free text ([`extract`]), which IANA special-purpose scope an address has
//! ([`scope`]), which host a browser connects to for a URL ([`url_host`]), and exact CIDR
//! aggregation and subtraction ([`aggregate`]).
//!
//! The crate is pure: no I/O, no global state, no allocation-heavy machinery (no regex). Each
//! kind lives in its own module; [`parse`] looks at the first bytes of an input to pick the one
//! parser that can accept it, so that a feed line costs one pass in the common case.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod aggregate;
mod cidr;
mod classify;
mod domain;
mod email;
mod error;
mod extract;
mod hash;
mod indicator;
mod ip;
mod kind;
mod refang;
pub mod scope;
mod url;

pub use self::url::{UrlParts, split_url, url_host};
pub use error::{ParseError, Reason};
pub use extract::extract;
pub use indicator::{Flag, Indicator};
pub use kind::{Kind, UnknownKind};
pub use refang::refang;
pub use scope::Scope;

/// The longest input accepted, in bytes (after trimming whitespace).
pub const MAX_INPUT: usize = 8192;

/// Refangs, classifies and canonicalises one candidate indicator. An address range (`a - b`)
/// gives the CIDRs that cover it exactly; every other valid input gives exactly one indicator.
pub fn parse(input: &str) -> Result<Vec<Indicator>, ParseError> {
    classify::parse(input)
}

/// Like [`parse`], for a value whose kind a feed states: the value must be of that kind
/// (a range or CIDR given as `cidr` may also yield single addresses, which are what `/32` and
/// `/128` mean), else the error says what it is instead.
pub fn parse_as(kind: Kind, input: &str) -> Result<Vec<Indicator>, ParseError> {
    classify::parse_as(kind, input)
}
