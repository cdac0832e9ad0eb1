//! The vocabulary of the `allocators` workspace: traits for allocators that
//! hand out objects of one type or one layout, the adapters that attach any
//! memory source to them, and an owning box that returns its object.
//!
//! # Object caching and the constructed-object contract
//!
//! A general-purpose `malloc` hands out raw bytes, and a program constructs
//! its object in them every time. An *object allocator* (Bonwick, "The Slab
//! Allocator: An Object-Caching Kernel Memory Allocator", USENIX 1994) hands
//! out objects of one type that are already constructed. When an object is
//! freed the allocator may keep it *as it is* and hand it out again without
//! running the constructor, so the cost of building an object (a lock, a
//! buffer, a hash table, a registration) is paid once per object rather than
//! once per allocation, and an address handed out for a type keeps holding
//! that type.
//!
//! [`ObjectAlloc<T>`] states the contract: `alloc` returns a valid `T`, either
//! fresh from the initialiser ([`Init`]) or exactly as a caller last gave it
//! back; `dealloc` takes back only valid `T`s; the allocator drops every
//! object it constructed exactly once, at the latest when it is dropped.
//! [`UntypedObjectAlloc`] is the same idea without types: blocks of one
//! [`Layout`](core::alloc::Layout), no initialisation promise.
//!
//! # Single-threaded and shared
//!
//! Allocators used from one thread take `&mut self`; that is all a
//! single-threaded cache needs, and the borrow checker enforces it.
//! Allocators that many threads call at once implement the shared forms,
//! [`SharedObjectAlloc<T>`] and [`SharedUntypedObjectAlloc`], which take
//! `&self` and require `Sync`. A shared allocator is also a single-threaded
//! one (supertrait), and a *reference* to it is one too (blanket impls), so
//! `&cache` can be handed to anything that wants an allocator by value: a
//! slab's backing, an [`ObjectBox`], a generic function. The same forwarding
//! exists for `&mut A`, `Box<A>` and `Arc<A>`.
//!
//! | trait | receiver | threads | objects |
//! |---|---|---|---|
//! | [`ObjectAlloc<T>`] | `&mut self` | one | constructed `T` |
//! | [`SharedObjectAlloc<T>`] | `&self` | any (`Sync`) | constructed `T` |
//! | [`UntypedObjectAlloc`] | `&mut self` | one | blocks of one layout |
//! | [`SharedUntypedObjectAlloc`] | `&self` | any (`Sync`) | blocks of one layout |
//!
//! Running out of memory is an [`AllocError`], never a panic.
//!
//! # Backing allocators
//!
//! A slab allocator takes each slab from an [`UntypedObjectAlloc`] whose
//! layout is the slab's size and alignment. Any memory source is therefore a
//! backing by implementing one trait, and three adapters cover the common
//! cases:
//!
//! - [`GlobalUntyped`]: blocks of a layout from any
//!   [`GlobalAlloc`](core::alloc::GlobalAlloc) (the system heap, mimalloc,
//!   jemalloc).
//! - [`HookUntyped`]: blocks from a pair of allocate/free functions or
//!   closures (a static pool, a kernel frame allocator, an instrumented heap).
//! - [`Typed`]: the other direction, a typed [`ObjectAlloc<T>`] over any
//!   untyped allocator and an initialiser.
//!
//! Here is the convention from the consumer's side: a minimal object pool that
//! carves 64-byte objects out of 4 KiB slabs from whatever backing it is given.
//!
//! ```
//! use core::alloc::Layout;
//! use core::ptr::NonNull;
//! use object_alloc::{AllocError, GlobalUntyped, UntypedObjectAlloc};
//!
//! const SLAB: usize = 4096;
//! const OBJECT: usize = 64;
//!
//! /// Hands out 64-byte blocks, bump-allocated from slabs of `B`.
//! struct BumpPool<B: UntypedObjectAlloc> {
//!     backing: B,
//!     slabs: Vec<NonNull<u8>>,
//!     used: usize,
//! }
//!
//! impl<B: UntypedObjectAlloc> BumpPool<B> {
//!     fn new(backing: B) -> Self {
//!         // The convention: the backing's layout is the slab's size and alignment.
//!         assert_eq!(backing.layout(), Layout::from_size_align(SLAB, SLAB).unwrap());
//!         BumpPool { backing, slabs: Vec::new(), used: SLAB }
//!     }
//!
//!     fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
//!         if self.used == SLAB {
//!             self.slabs.push(self.backing.alloc()?);
//!             self.used = 0;
//!         }
//!         let slab = *self.slabs.last().unwrap();
//!         // SAFETY: `used + OBJECT <= SLAB`, inside the slab.
//!         let obj = unsafe { slab.add(self.used) };
//!         self.used += OBJECT;
//!         Ok(obj)
//!     }
//! }
//!
//! impl<B: UntypedObjectAlloc> Drop for BumpPool<B> {
//!     fn drop(&mut self) {
//!         for slab in self.slabs.drain(..) {
//!             // SAFETY: each slab came from `backing` and is freed once.
//!             unsafe { self.backing.dealloc(slab) };
//!         }
//!     }
//! }
//!
//! let slab_layout = Layout::from_size_align(SLAB, SLAB).unwrap();
//! let mut pool = BumpPool::new(GlobalUntyped::system(slab_layout));
//! let a = pool.alloc().unwrap();
//! let b = pool.alloc().unwrap();
//! assert_eq!(b.addr().get() - a.addr().get(), OBJECT);
//! ```
//!
//! # Owning boxes
//!
//! [`ObjectBox`] owns one object and gives it back to its allocator when
//! dropped. It holds a handle to the allocator: `&cache` or `Arc<cache>` of a
//! shared allocator (the box is then `Send`, and may be dropped on any
//! thread), or a [`LocalHandle`] to a single-threaded allocator in a
//! `RefCell`.
//!
//! ```
//! use core::alloc::Layout;
//! use object_alloc::{GlobalUntyped, ObjectBox, Typed};
//!
//! #[derive(Debug)]
//! struct Session { id: u64, scratch: Vec<u8> }
//!
//! let sessions = Typed::new(GlobalUntyped::system(Layout::new::<Session>()), || Session {
//!     id: 0,
//!     scratch: Vec::with_capacity(256),
//! })
//! .unwrap();
//!
//! let mut s = ObjectBox::new_in(&sessions).unwrap();
//! s.id = 7;
//! s.scratch.extend_from_slice(b"hello");
//! std::thread::scope(|scope| {
//!     scope.spawn(move || assert_eq!(s.scratch.len(), 5));
//! });
//! ```
//!
//! # Checking an allocator
//!
//! The `object-alloc-test` crate is the conformance suite for these traits:
//! a few lines generate the tests for alignment, overlap, the
//! constructed-object contract, drop accounting, corruption and random
//! sequences, single- and multi-threaded.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | [`GlobalUntyped::system`]; implies `alloc` |
//! | `alloc` | via `std` | the forwarding impls for `Box<A>` and `Arc<A>` |
//!
//! Without features the crate is `no_std` with no dependencies, and builds
//! for bare-metal targets such as `thumbv7em-none-eabihf`.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod boxed;
mod error;
mod global;
mod hooks;
mod init;
mod object;
mod typed;
mod untyped;

pub use boxed::{LocalHandle, ObjectBox};
pub use error::{AllocError, LayoutMismatch};
pub use global::GlobalUntyped;
pub use hooks::HookUntyped;
pub use init::{DefaultInit, Init, NoInit};
pub use object::{ObjectAlloc, SharedObjectAlloc};
pub use typed::Typed;
pub use untyped::{SharedUntypedObjectAlloc, UntypedObjectAlloc};

/// The README's examples, run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
