//! A bootstrap allocator: `const`-constructible, thread-safe, lock-free, and
//! it never calls `malloc`.
//!
//! When a process's `malloc` is an allocator built from this workspace, that
//! allocator's own internal allocations (thread-cache records,
//! crossbeam-epoch's participants and garbage bags, whatever `std` allocates
//! for a thread it spawns) must not go back into the allocator being built.
//! [`BsAlloc`] serves them: it gets its memory from `mmap` alone, so it works
//! before, beside and underneath any `malloc`.
//!
//! ```
//! use core::alloc::{GlobalAlloc, Layout};
//! use bsalloc::BsAlloc;
//!
//! static HEAP: BsAlloc = BsAlloc::new();
//!
//! let layout = Layout::new::<[u64; 4]>();
//! // SAFETY: the layout is not zero-sized; the block is freed once, with it.
//! unsafe {
//!     let block = HEAP.alloc(layout);
//!     assert!(!block.is_null());
//!     block.write_bytes(0xff, layout.size());
//!     HEAP.dealloc(block, layout);
//! }
//! ```
//!
//! It implements [`GlobalAlloc`](core::alloc::GlobalAlloc), so a binary can
//! make it the global allocator with its own `#[global_allocator]` line
//! (linking this crate never does), and `allocator_api2`'s
//! [`Allocator`](allocator_api2::alloc::Allocator) (for `BsAlloc` and
//! `&BsAlloc`), so collections can use it explicitly.
//!
//! # Design
//!
//! Two size classes and the kernel:
//!
//! | request (larger of size and alignment) | served by |
//! |---|---|
//! | 0 bytes | the alignment as a dangling pointer; freeing it does nothing |
//! | 1 B to 64 B | a 64-byte block of the **small class** |
//! | 65 B to 4 KiB | a 4 KiB block of the **large class** |
//! | above 4 KiB | a **mapping** of its own, its size rounded up to pages |
//!
//! **Classes.** Each class is an *arena* (one mapping, made on the class's
//! first use: 2 MiB of 64-byte blocks for the small class, 8 MiB of 4 KiB
//! blocks for the large one) and a *free stack*. Blocks are aligned to their
//! size, so a block serves any request whose size and alignment fit in it.
//! A block nobody has used yet is *carved* from the arena by bumping an
//! index; a freed block is pushed on the free stack, and the next request
//! for the class, from any thread, pops it. Untouched parts of an arena are
//! the kernel's zero pages and cost no memory, so a class's memory grows
//! with its peak use and is bounded by its arena. When every block of a
//! class is in use, its requests go to the next class and then to mappings,
//! so a full class is slower, never a failure.
//!
//! **The free stack** is a Treiber stack (Treiber, IBM RJ 5118, 1986) of
//! block indices with a version tag beside the top index in one 64-bit word,
//! which makes it immune to the ABA problem. Its links live in a table at
//! the start of the arena, one `AtomicU32` per block, not in the freed
//! blocks: a pop racing with another thread's reuse of a block reads the
//! table, never the block, the allocator never writes into a block, and
//! everything the stack touches is an atomic (so Miri's data-race detector
//! checks it). The table has a slot for every block, so a free always fits:
//! the bound on a class's cache is its arena, and nothing is ever dropped
//! on the floor. A lock-free stack rather than a lock: a thread preempted in
//! the middle of an operation never stalls the others, and there is no lock
//! state for a `fork` to copy in the middle of an update.
//!
//! **Mappings.** A request above 4 KiB gets a mapping of its own, released
//! with `munmap` when it is freed. Alignment up to the page size comes with
//! every mapping; a larger alignment is served by mapping `align` extra bytes
//! and placing the block at the first aligned address past the first page,
//! with the mapping's start stored in the word below the block (the whole
//! mapping is kept so that it goes back with one `munmap`).
//!
//! **Freeing** looks the block up by address: a request can only have been
//! served by its own class or a larger home, so `dealloc` checks the arenas
//! its layout allows (one compare each) and otherwise releases the mapping
//! whose length the layout gives.
//!
//! **Resizing** keeps the block when the new size still belongs where the
//! block lives (any size up to 64 bytes in a small block, 65 B to 4 KiB in a
//! large one); a large block that shrinks to small size moves to the small
//! class when it has room; a mapping grows and shrinks with `mremap` (the
//! kernel moves page-table entries, not bytes); everything else allocates,
//! copies and frees.
//!
//! # The fast path
//!
//! `alloc` of a class request: a zero-size test, one or two compares, and
//! a pop (an acquire load of the stack's head and of the arena pointer, a
//! relaxed load of a link, one compare-exchange). `dealloc` of a class
//! block: the same tests, the arena bounds check, and a push (a relaxed
//! store of a link, one compare-exchange). An empty stack (carving a fresh
//! block, mapping the arena on first use), a used-up class, zero sizes,
//! mappings and resizing are `#[cold]` functions.
//!
//! # The two sizes, from measurement
//!
//! `examples/size_histogram.rs` records every request that the machinery
//! this workspace's allocator leans on makes of the global allocator, and
//! prints the sizes (`cargo run --release -p bsalloc --example
//! size_histogram`). On x86_64 Linux with Rust 1.95 and crossbeam-epoch
//! 0.9:
//!
//! | workload | requests | sizes asked for |
//! |---|---|---|
//! | 64 × `thread::spawn` + `join` | 192 | 24, 40, 48 B |
//! | 64 named threads, 8 scoped | 409 | 8 to 48 B |
//! | 64 threads with two `thread_local!`s with destructors | 320 | 24 to 48 B |
//! | crossbeam-epoch, 8 threads pin and defer 2,000 times each | 16,355 | 32 B (the deferred nodes), 2,072 B (sealed garbage bags, 321), 2,304 B aligned 128 (a participant per thread), 640 B aligned 128 (the collector) |
//! | `Vec<u64>` and `String` grown to 4 KiB | 17 | 16 B to 4 KiB, doubling |
//!
//! Every request from thread spawning and thread-locals is at most 48 bytes,
//! so the **small class is 64 bytes**, one cache line. Crossbeam-epoch's
//! participants (2,304 B) and garbage bags (2,072 B) are just over 2 KiB and
//! a new bag is sealed every 64 deferred frees, so the **large class is
//! 4 KiB**: with 2 KiB blocks every one of them would be a `mmap` and a
//! `munmap`. Requests between 65 bytes and 4 KiB waste the rest of a 4 KiB
//! block; a bootstrap allocator serves few of them, and a third class would
//! be a third arena to size.
//!
//! # Thread safety and what is never called
//!
//! Every method takes `&self`; the classes are lock-free, so any thread may
//! free a block any other thread allocated, and blocks freed by one thread
//! are reused by all. The only calls out of the crate are `mmap`, `munmap`
//! and `mremap` (anonymous private mappings) and `sysconf(_SC_PAGESIZE)`,
//! read once: system-call wrappers, none of which allocates. Nothing panics
//! or formats on any path; out of memory is a null pointer (`GlobalAlloc`)
//! or an `AllocError`. The crate's `no_malloc` test proves it: a binary
//! whose global allocator is `BsAlloc` runs every path under a preloaded
//! shim whose `malloc` family aborts.
//!
//! # Each `BsAlloc` is a heap
//!
//! A `BsAlloc` owns its two arenas; blocks are freed through the heap they
//! came from. Dropping a `BsAlloc` unmaps its arenas, which ends the life of
//! every class block it handed out (a `static` is never dropped); mappings
//! still allocated stay mapped, as with any allocator.
//!
//! # Targets and features
//!
//! Linux only (`mremap`); elsewhere the crate does not compile. `no_std`,
//! no features; it depends on `libc` and `allocator-api2`. Under Miri the
//! arenas hold 64 and 16 blocks instead of 32,768 and 2,048, so that tests
//! reach used-up classes within Miri's budget; nothing else changes.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(target_os = "linux"))]
compile_error!("bsalloc maps memory with Linux's mmap/mremap; other targets are not supported");

#[cfg(test)]
extern crate std;

mod class;
mod heap;
mod os;
mod pages;

pub use heap::BsAlloc;

/// The README's examples, run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
