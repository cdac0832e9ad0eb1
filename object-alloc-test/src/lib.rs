//! The conformance suite for allocators: what every allocator in the
//! `allocators` workspace runs, and what anyone runs against their own with a
//! few lines.
//!
//! # A complete test of a custom allocator
//!
//! Here is a small allocator of its own, a free list over the system heap,
//! and its complete test: one line, usually in `tests/`, which generates the
//! `#[test]`s for alignment, distinctness, overlap, writability, corruption,
//! reuse after free and 100,000-step random sequences over 147 layouts.
//!
//! ```
//! use std::alloc::{Layout, alloc, dealloc};
//! use std::ptr::NonNull;
//! use object_alloc::{AllocError, UntypedObjectAlloc};
//!
//! struct FreeList { layout: Layout, free: Vec<NonNull<u8>> }
//!
//! // SAFETY: blocks come from the system heap with the layout, and a freed
//! // block is handed out again only after it was freed.
//! unsafe impl UntypedObjectAlloc for FreeList {
//!     fn layout(&self) -> Layout { self.layout }
//!     fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
//!         // SAFETY: the suite's layouts are not zero-sized.
//!         self.free.pop().or_else(|| NonNull::new(unsafe { alloc(self.layout) })).ok_or(AllocError)
//!     }
//!     unsafe fn dealloc(&mut self, block: NonNull<u8>) { self.free.push(block) }
//! }
//!
//! impl Drop for FreeList {
//!     fn drop(&mut self) {
//!         // SAFETY: each cached block came from `alloc` with the layout.
//!         self.free.drain(..).for_each(|b| unsafe { dealloc(b.as_ptr(), self.layout) });
//!     }
//! }
//!
//! // The whole test:
//! object_alloc_test::untyped_suite!(free_list, |layout| FreeList { layout, free: Vec::new() });
//! # fn main() {}
//! ```
//!
//! A typed object cache is tested the same way: the suite hands the
//! constructor its own object types and initialiser, so it can check the
//! constructed-object contract and count every drop.
//!
//! ```
//! use core::alloc::Layout;
//! use object_alloc::{GlobalUntyped, Typed};
//!
//! object_alloc_test::shared_typed_suite!(cache_suite, <T>(init) => {
//!     Typed::<T, _, _>::new(GlobalUntyped::system(Layout::new::<T>()), init).unwrap()
//! });
//! # fn main() {}
//! ```
//!
//! # The suites
//!
//! | macro | for | tests |
//! |---|---|---|
//! | [`untyped_suite!`] | [`UntypedObjectAlloc`] | `layout`, `blocks`, `random` over sizes 1 B–64 KiB × alignments 1 B–4 KiB |
//! | [`shared_untyped_suite!`] | [`SharedUntypedObjectAlloc`] | the above and `threads` |
//! | [`typed_suite!`] | [`ObjectAlloc<T>`] | `objects`, `random`, `init_panic` for objects of 32 B–64 KiB aligned 8 B–4 KiB |
//! | [`shared_typed_suite!`] | [`SharedObjectAlloc<T>`] | the above and `threads` |
//! | [`global_alloc_suite!`] | [`GlobalAlloc`] | `layouts`, `zeroed`, `realloc`, `random`, `threads` over sizes 1 B–1 MiB × alignments 1 B–64 KiB |
//! | [`allocator_suite!`], [`shared_allocator_suite!`] | `allocator_api2` [`Allocator`] | `layouts`, `zeroed`, `grow_shrink`, `random` (and `threads`) over sizes 0–1 MiB × alignments 1 B–64 KiB |
//!
//! Each generated test calls a public function of [`untyped`], [`typed`],
//! [`global`] or [`allocator`], which returns a [`CheckResult`]; call them
//! directly to use your own layouts or counts.
//!
//! # What is checked
//!
//! - **Alignment** of every block and object, before it is touched.
//! - **Distinctness and overlap**: every live block's address range is
//!   recorded; a block handed out twice, or overlapping a live one, fails
//!   with both addresses.
//! - **Writability**: every byte of every block is written.
//! - **Corruption**: each live block holds a pattern derived from its
//!   identity, checked before it is freed, so an allocator that writes into a
//!   live block (a free-list link, a header) is caught.
//! - **The constructed-object contract** (typed): every object handed out was
//!   built by the suite's initialiser and not dropped; an object handed out
//!   again is exactly as it was freed (its stamp and payload).
//! - **Drop accounting** (typed): after the allocator is dropped, every object
//!   constructed was dropped exactly once; a leak or a double drop fails.
//! - **Constructor panics** (typed): they reach the caller of `alloc` and
//!   leave the allocator usable.
//! - **Zeroing**: zeroed allocations are zero, also when they reuse a block
//!   that was freed dirty; `grow_zeroed` zeroes the new tail.
//! - **Resizing** keeps the common prefix.
//! - **Random sequences** of at least 100,000 operations (fewer for objects
//!   over 4 KiB) drift between bursts of allocation, bursts of freeing and
//!   steady state.
//! - **Threads**: several threads allocate at once and free each other's
//!   blocks (cross-thread frees), with overlap checked across all threads.
//!
//! # Seeds, counts and Miri
//!
//! Random sequences take their seed from [`Config::from_env`]: a fresh seed
//! each run, printed in every failure together with the line that replays
//! it (`OBJECT_ALLOC_TEST_SEED=0x…`). `OBJECT_ALLOC_TEST_OPS` and
//! `OBJECT_ALLOC_TEST_THREADS` lengthen or shorten a run. Under Miri the same
//! tests run with smaller counts and a thinner layout grid.
//!
//! # Proof that it fails
//!
//! The crate's own tests run the checks against deliberately broken
//! allocators (one hands out a live block twice, one misaligns, one returns
//! overlapping memory, one drops objects twice, one leaks them, one writes a
//! free-list link into freed objects, one returns dirty memory from a zeroed
//! call) and assert that each is caught with a message saying what went
//! wrong.
//!
//! [`UntypedObjectAlloc`]: object_alloc::UntypedObjectAlloc
//! [`SharedUntypedObjectAlloc`]: object_alloc::SharedUntypedObjectAlloc
//! [`ObjectAlloc<T>`]: object_alloc::ObjectAlloc
//! [`SharedObjectAlloc<T>`]: object_alloc::SharedObjectAlloc
//! [`GlobalAlloc`]: core::alloc::GlobalAlloc
//! [`Allocator`]: allocator_api2::alloc::Allocator
#![deny(unsafe_op_in_unsafe_fn)]

mod config;
mod exchange;
mod failure;
mod general;
mod layouts;
mod live;
mod macros;
mod pattern;
mod tracked;

pub mod allocator;
pub mod global;
pub mod typed;
pub mod untyped;

pub use config::{Config, OPS_VAR, SEED_VAR, THREADS_VAR};
pub use failure::{CheckResult, Failure, report};
pub use layouts::object_layouts;
pub use tracked::{Align64, Align4096, Bytes, Ledger, Payload, TestObject, Tracked, TrackedInit};

// Re-exported so that the generated tests name the traits through this crate.
#[doc(hidden)]
pub use allocator_api2;
#[doc(hidden)]
pub use object_alloc;

/// The README's examples, run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
