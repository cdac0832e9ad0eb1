//! A scalable concurrent bag: a pool that gives up FIFO order so that
//! threads pushing and popping at once mostly touch different cache lines.
//! It is the depot of full and empty magazines under the thread caches of
//! the `allocators` workspace, and a crate of its own for anyone who needs
//! a lock-free pool.
//!
//! # Design
//!
//! - **[`SharedWeakBag`]** is the interface. `try_push` and `try_pop` make
//!   one attempt and report a transient failure (another thread got in the
//!   way) as [`PushError::Contended`] / [`PopError::Contended`], apart from
//!   [`PushError::Full`] / [`PopError::Empty`]. They do not retry: a caller
//!   with somewhere else to go goes there. `push` and `pop` are the
//!   retrying forms, with exponential backoff.
//! - **[`TreiberStack`]**: a linked list with one atomic top pointer, one
//!   compare-and-swap per operation (Treiber 1986). A node records the
//!   length below it, so the length hint is one load.
//! - **[`FaaQueue`]**: linked segments of slots; pushes and pops claim slots
//!   by fetch-and-add on per-segment indices and meet on a per-slot state
//!   byte, in the manner of LCRQ (Morrison and Afek 2013) and
//!   FAAArrayQueue (Ramalhete and Correia 2016). A pop that overtakes a
//!   push marks the slot dead and reports contention, and the push gets its
//!   item back and reports contention too.
//! - **[`Bagpipe<B>`](Bagpipe)**: several inner bags of any of these kinds
//!   (by default, the CPU count rounded up to a power of two, capped at
//!   [`MAX_DEFAULT_BAGS`]). Each thread starts at its own inner bag, moves
//!   on to the next after a transient failure, and a pop reports empty
//!   only after a full sweep found every inner bag empty.
//!
//! **Ownership.** A bag owns its items: each pushed item is returned by
//! exactly one pop, or dropped when the bag is dropped. Items move between
//! threads whole, so every bag is `Send + Sync` when its item is `Send`.
//!
//! **Memory reclamation.** Popped stack nodes and used-up queue segments are
//! freed through [`crossbeam_epoch`]'s default collector (Fraser,
//! *Practical lock-freedom*, 2004): every operation is pinned while it holds
//! a node's or segment's address, so nothing is freed under it, and no
//! address is reused while some thread may still compare against it (no
//! ABA).
//!
//! # Fast path
//!
//! A push or pop on a `Bagpipe` reads the thread's cursor (a thread-local
//! `usize`) and makes one attempt on its start bag, which pins the epoch
//! and then, on a `FaaQueue`, does a fetch-and-add and an access to the
//! claimed slot; on a `TreiberStack`, one compare-and-swap (and one
//! allocation for a push).
//! What leaves the fast path: a transient failure or an empty (or full)
//! start bag (a sweep over the other bags, `#[cold]`), a full queue segment
//! (a new segment) or a used-up one (retirement), a push that a pop
//! overtook (the pop waits a moment before giving up on the slot).
//!
//! # Why `std`
//!
//! The crate needs `std`: each thread's epoch participant (crossbeam-epoch's
//! default collector) and its `Bagpipe` cursor live in thread-locals, and
//! waiting out contention yields the thread. Without them every call would
//! have to carry a guard and a start index from its caller. The crate has
//! no features.
//!
//! # Example
//!
//! ```
//! use bagpipe::{Bagpipe, SharedWeakBag, TreiberStack};
//!
//! // A pool of reusable buffers shared by worker threads.
//! let pool: Bagpipe<TreiberStack<Vec<u8>>> = Bagpipe::new();
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             for _ in 0..20 {
//!                 let mut buf = pool.pop().unwrap_or_else(|| Vec::with_capacity(4096));
//!                 buf.clear();
//!                 buf.extend_from_slice(b"work");
//!                 pool.push(buf).unwrap();
//!             }
//!         });
//!     }
//! });
//! // At most one buffer per thread was ever made.
//! assert!((1..=4).contains(&pool.len_hint()));
//! ```
//!
//! # References
//!
//! - R. K. Treiber. *Systems programming: coping with parallelism.* IBM
//!   Research Report RJ 5118, 1986.
//! - M. M. Michael and M. L. Scott. *Simple, fast, and practical
//!   non-blocking and blocking concurrent queue algorithms.* PODC 1996.
//! - K. Fraser. *Practical lock-freedom.* PhD thesis, University of
//!   Cambridge, 2004.
//! - H. Sundell, A. Gidenstam, M. Papatriantafilou and P. Tsigas. *A
//!   lock-free algorithm for concurrent bags.* SPAA 2011.
//! - A. Morrison and Y. Afek. *Fast concurrent queues for x86 processors.*
//!   PPoPP 2013.
//! - C. Yang and J. Mellor-Crummey. *A wait-free queue as fast as
//!   fetch-and-add.* PPoPP 2016 (the wait-free queue this crate does not
//!   implement; `FaaQueue` is its lock-free fast path).
//! - P. Ramalhete and A. Correia. *FAAArrayQueue*, 2016.

#![deny(unsafe_op_in_unsafe_fn)]

mod bag;
mod bagpipe;
mod error;
mod faa_queue;
#[cfg(test)]
mod hook;
#[cfg(test)]
mod live;
mod treiber;

pub use bag::SharedWeakBag;
pub use bagpipe::{Bagpipe, MAX_DEFAULT_BAGS, default_bag_count};
pub use error::{BuildError, PopError, PushError};
pub use faa_queue::FaaQueue;
pub use treiber::TreiberStack;

/// The README's examples, run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
