//! Object caches in the slab tradition (Bonwick, "The Slab Allocator: An
//! Object-Caching Kernel Memory Allocator", USENIX 1994): typed caches of
//! constructed objects and untyped caches of blocks, each over any backing
//! allocator that hands out slabs, with every free checked.
//!
//! This is the slab layer, single-threaded (`&mut self`) and `no_std`. The
//! magazine layer and the size-class zone that Bonwick and Adams ("Magazines
//! and Vmem", USENIX 2001) put on top of it come later.
//! [`Locked`] shares a cache between threads behind a pluggable [`RawLock`]
//! ([`SpinLock`], or a platform's own), without `std`.
//!
//! # Design
//!
//! A *slab* is one block from the backing allocator, whose layout is the
//! slab's size and alignment, cut into equal objects. By default its
//! metadata sits at its start:
//!
//! ```text
//! base
//! | header | free stack: u32 × capacity | allocated bitmap | colour | object 0 | object 1 | … | leftover |
//! ```
//!
//! - The **header** holds the slab's counters, its list links, the cache's
//!   id and name, the slab's base, and a tag (`base ^ cache secret`).
//! - An object's slab is found through a **pointer-to-slab map** (with the
//!   `alloc` feature): the address space is cut into granules of
//!   `2^floor(log2(slab size))` bytes, and each granule a slab overlaps maps
//!   to it. A granule overlaps at most two slabs, so a lookup is one hash
//!   probe and at most two range checks, whatever the slab's size and
//!   alignment: slabs need not be powers of two nor aligned to their size.
//!   Without `alloc` slabs must be aligned to their (power-of-two) size and
//!   the slab is found by masking the address (`addr & !(slab_size - 1)`).
//! - Free objects are tracked **outside the objects**: a stack of free
//!   indices and a bitmap of allocated ones. Nothing is ever written into a
//!   freed object, so a typed cache's freed object keeps its constructed
//!   state (object caching), and an overrun of an object cannot corrupt a
//!   free list. With inline metadata one overrun does reach metadata:
//!   running off the last object of the slab just *below* in memory lands
//!   in this slab's header; the tag check reports such a header as corrupt
//!   on the next free into it.
//! - **Out-of-line metadata** ([`SlabBuilder::out_of_line_metadata`])
//!   removes that case: headers, stacks and bitmaps live in records packed
//!   into separate metadata blocks from the same backing, and objects fill
//!   the whole slab. Over a guarded `mmap-alloc` backing each slab ends at a
//!   guard page, so an overrun faults before it can reach anything.
//! - A **type-stable** cache ([`SlabBuilder::type_stable`]) never returns a
//!   slab while it lives, so memory once holding a `T` of this cache holds
//!   one until the cache drops: what lock-free readers that may touch a
//!   freed object need.
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
//! `dealloc` finds the slab in the pointer-to-slab map (or by masking,
//! without `alloc`), checks the tag, the object start (one division) and the
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
//! With the `alloc` feature the "is it ours?" question is answered by the
//! per-cache pointer-to-slab map, without reading the freed address,
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
//! | `alloc` | via `std` | the pointer-to-slab map and registry behind slabs of any size and alignment, out-of-line metadata, and the sound "not managed" and "other cache" checks |
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

#[cfg(feature = "std")]
extern crate std;

mod cache;
mod config;
mod error;
#[cfg(feature = "alloc")]
mod registry;
mod shared;
mod stats;
mod typed;
mod untyped;
#[cfg(feature = "zone")]
mod zone;

pub use config::{DEFAULT_MAX_EMPTY_SLABS, SlabBuilder, slab_layout_for};
pub use error::{ConfigError, ErrorHook, FreeError, FreeErrorKind, abort_on_error};
pub use shared::{Locked, NoLock, RawLock, SpinLock};
pub use stats::Stats;
pub use typed::SlabAlloc;
pub use untyped::UntypedSlabAlloc;
#[cfg(feature = "zone")]
pub use zone::{
    ClassStats, LARGE_CACHE_BLOCKS, LARGE_CACHE_BYTES, LARGE_DECAY, LargeStats, SharedSlabAlloc,
    SharedUntypedSlabAlloc, SlabMalloc, ZoneStats,
};

/// The README's examples, run as doc tests so they cannot go stale (they
/// use the zone, so with it).
#[cfg(all(doctest, feature = "zone"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
