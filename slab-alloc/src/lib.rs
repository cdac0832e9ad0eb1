//! Object caches in the slab tradition (Bonwick, "The Slab Allocator: An
//! Object-Caching Kernel Memory Allocator", USENIX 1994): typed caches of
//! constructed objects and untyped caches of blocks, each over any backing
//! allocator that hands out slabs, with every free checked.
//!
//! This is the slab layer, single-threaded (`&mut self`) and `no_std`. The
//! magazine layer and the size-class zone that Bonwick and Adams ("Magazines
//! and Vmem", USENIX 2001) put on top of it come later.
//!
//! # Design
//!
//! A *slab* is one block from the backing allocator, whose layout is the
//! slab's size and alignment (a power of two), cut into equal objects. Its
//! metadata sits at its start:
//!
//! ```text
//! base (aligned to slab_size)
//! | header | free stack: u32 × capacity | allocated bitmap | colour | object 0 | object 1 | … | leftover |
//! ```
//!
//! - The **header** holds the slab's counters, its list links, the cache's
//!   id and name, and a tag (`base ^ cache secret`). Any object's slab is
//!   found by masking its address (`addr & !(slab_size - 1)`).
//! - Free objects are tracked **outside the objects**: a stack of free
//!   indices and a bitmap of allocated ones. Nothing is ever written into a
//!   freed object, so a typed cache's freed object keeps its constructed
//!   state (object caching), and an overrun of an object cannot corrupt a
//!   free list. One overrun does reach metadata: running off the last object
//!   of the slab just *below* in memory lands in this slab's header; the
//!   tag check reports such a header as corrupt on the next free into it.
//!   Out-of-line metadata, which removes that case, comes later.
//! - Objects are handed out lazily: objects `0..fresh` of a slab have been
//!   handed out at least once (and, in a typed cache, constructed); a fresh
//!   object is taken when the free stack is empty.
//! - **Colouring**: successive slabs start object 0 at successive cache-line
//!   offsets within the slab's leftover bytes, so the same object index of
//!   different slabs falls on different cache lines.
//! - Slabs are on one of three lists: partial (allocation takes from the
//!   head), full, and empty. A **working set** of at most
//!   [`SlabBuilder::max_empty_slabs`] empty slabs is kept; beyond it the
//!   slab empty the longest goes back to the backing (after its constructed
//!   objects are dropped), and `reap` returns them all now.
//!
//! # Fast paths
//!
//! `alloc` pops an index from the head partial slab's free stack (or takes
//! its next fresh object), sets the bit and bumps two counters; no partial
//! slab sends it to the cold path that reuses an empty slab or asks the
//! backing for a new one. A typed cache runs the constructor only on fresh
//! objects, in a cold function.
//!
//! `dealloc` masks the address, finds the slab in the cache's hash set of
//! slab addresses, checks the tag, the object start (one division) and the
//! allocated bit, and pushes the index. A slab that stops being full or
//! becomes empty changes list on the cold path.
//!
//! # Checks
//!
//! Every free is checked, in O(1), always: an address in no slab of this
//! cache, an address in a slab's metadata, an address inside an object but
//! not at its start, an object that is not allocated (a double free), an
//! object of another cache (named), a header whose tag was overwritten.
//! `try_dealloc` returns the [`FreeError`]; the trait's `dealloc` hands it to
//! the cache's [`ErrorHook`], by default [`abort_on_error`] (message to
//! stderr, then abort; a panic without `std`).
//!
//! With the `alloc` feature the "is it ours?" question is answered by a
//! per-cache hash set of slab addresses, without reading the freed address,
//! so it is sound for any pointer; a miss consults a process-wide registry
//! of all caches' slabs (behind a spin lock, taken only when a slab comes or
//! goes and on a failed free) to name another cache. Without `alloc` the
//! header is read through the freed pointer and validated by its tag, which
//! requires that the slab-aligned region around the address is readable.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | the default error hook aborts with a message on stderr; implies `alloc` |
//! | `alloc` | via `std` | the slab-address set and registry behind the sound "not managed" and "other cache" checks |
//!
//! # Example
//!
//! ```
//! use core::alloc::Layout;
//! use object_alloc::{GlobalUntyped, ObjectAlloc};
//! use slab_alloc::{SlabBuilder, slab_layout_for};
//!
//! #[derive(Default)]
//! struct Connection { id: u64, buf: Vec<u8> }
//!
//! let backing = GlobalUntyped::system(slab_layout_for(Layout::new::<Connection>()));
//! let mut conns = SlabBuilder::new("connections")
//!     .build::<Connection, _, _>(|| Connection { id: 0, buf: Vec::with_capacity(1024) }, backing)
//!     .unwrap();
//! let c = conns.alloc().unwrap();
//! // SAFETY: `c` holds a constructed `Connection` that we own until freed.
//! unsafe { (*c.as_ptr()).id = 7 };
//! // SAFETY: from `conns`, freed once, still a valid `Connection`.
//! unsafe { conns.dealloc(c) };
//! assert_eq!(conns.stats().constructions, 1);
//! ```
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod cache;
mod config;
mod error;
#[cfg(feature = "alloc")]
mod registry;
mod stats;
mod typed;
mod untyped;

pub use config::{DEFAULT_MAX_EMPTY_SLABS, SlabBuilder, slab_layout_for};
pub use error::{ConfigError, ErrorHook, FreeError, FreeErrorKind, abort_on_error};
pub use stats::Stats;
pub use typed::SlabAlloc;
pub use untyped::UntypedSlabAlloc;

/// The README's examples, run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
