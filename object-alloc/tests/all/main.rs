//! Tests of object-alloc's public behaviour: the conformance suite on every
//! adapter, and the adapters' own promises.

mod boxed;
mod conformance;
mod global;
mod hooks;
mod typed;
