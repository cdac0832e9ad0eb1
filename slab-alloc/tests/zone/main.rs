//! `SlabMalloc`, the zone: the shared conformance suites, the checks on
//! free, threads, memory going back, and collections over it.
//!
//! Not under Miri: the zone's chunks are 4 MiB-aligned mmap-alloc mappings,
//! which need the `PROT_NONE` reservations Miri does not emulate.

#![cfg(not(miri))]

mod checks;
#[path = "../all/child.rs"]
mod child;
mod collections;
mod conformance;
mod memory;
mod shared;
mod threads;

use std::cell::RefCell;

use slab_alloc::{FreeError, SlabMalloc};

thread_local! {
    /// Errors the recording hook saw on this thread.
    static SEEN: RefCell<Vec<FreeError>> = const { RefCell::new(Vec::new()) };
}

/// An error hook that records instead of aborting.
fn record(err: &FreeError) {
    SEEN.with(|s| s.borrow_mut().push(*err));
}

/// The errors recorded on this thread since the last call.
fn recorded() -> Vec<FreeError> {
    SEEN.with(|s| s.take())
}

/// A zone whose bad frees are recorded on the freeing thread.
fn recording_zone() -> SlabMalloc {
    SlabMalloc::with_error_hook(record)
}
