//! Pages from the kernel with an explicit contract: the page source under
//! every other allocator in the `allocators` workspace, and a crate of its
//! own for anyone who wants aligned, guarded, huge-page or file-backed
//! mappings without writing `mmap` calls.
//!
//! # Design
//!
//! A [`MapAlloc`] is a set of settings fixed when it is built (page kind,
//! guard pages, protection, populate, decommit mode, backing file), and no
//! state per mapping: a mapping's extent follows from its address, its size
//! and the settings, so `unmap(ptr, size)` needs no lookup and the
//! allocator needs no lock. It is `Sync`, and `MapAlloc::new()` is `const`,
//! so one can be a `static` or a `#[global_allocator]`.
//!
//! - **Sizes** round up to whole pages: the base page size, read from the
//!   kernel once and cached, or 2 MiB with explicit huge pages.
//! - **Alignment** above a page is made by reserving `size + align - page`
//!   bytes of address space (`PROT_NONE`, `MAP_NORESERVE`), mapping over the
//!   aligned part with `MAP_FIXED`, and trimming both ends.
//! - **Guard pages** are the reservation's `PROT_NONE` pages kept on either
//!   side of the mapping; touching one raises `SIGSEGV`.
//! - **Huge pages**: explicit (`MAP_HUGETLB`, from the kernel's reserved
//!   pool, with an optional fallback) or transparent (`MADV_HUGEPAGE`, with
//!   2 MiB alignment for mappings of 2 MiB or more). See [`HugePages`].
//! - **Commit and decommit** work on page ranges inside a mapping:
//!   [`MapAlloc::commit`] prefaults (`MADV_POPULATE_WRITE`),
//!   [`MapAlloc::decommit`] returns the pages (`MADV_DONTNEED`, or
//!   `MADV_FREE`; `MADV_REMOVE` for files), lowering the resident set.
//! - **Growth** uses `mremap`: in place when the address space after the
//!   mapping is free, otherwise moved by the kernel without copying bytes
//!   (anonymous mappings without guards), otherwise mapped anew and copied.
//! - **Files**: with [`MapAllocBuilder::file`] or
//!   [`MapAllocBuilder::file_descriptor`], mappings are `MAP_SHARED`
//!   regions appended to the file (disk space reserved with `fallocate`,
//!   so a full disk is an error at `map`, not a `SIGBUS` later), and cold
//!   pages are written back to the file instead of to swap.
//!
//! # Fast path
//!
//! [`MapAlloc::map`] and [`MapAlloc::unmap`] check one flag (base pages, no
//! guards, anonymous) and the alignment, and make one system call. Every
//! other case is behind a `#[cold]` function. The bench in `benches/map.rs`
//! compares map + touch + unmap with raw `mmap`/`munmap`; the ratios are in
//! the crate README.
//!
//! # Interfaces
//!
//! | interface | type | for |
//! |---|---|---|
//! | the methods of [`MapAlloc`] | `map`, `unmap`, `remap`, `commit`, `decommit` | page-level control |
//! | [`UntypedObjectAlloc`](object_alloc::UntypedObjectAlloc), [`SharedUntypedObjectAlloc`](object_alloc::SharedUntypedObjectAlloc) | [`MapUntyped`] | slab backing: blocks of one layout |
//! | [`GlobalAlloc`](core::alloc::GlobalAlloc) | [`MapAlloc`] | a `#[global_allocator]`, or any API taking one |
//! | [`allocator_api2::alloc::Allocator`] | [`MapAlloc`] | collections; `grow` uses `mremap` |
//!
//! Bad input (zero size, an alignment that is not a power of two, a size
//! that overflows when rounded) and kernel refusals are a [`MapError`]
//! (null from `GlobalAlloc`), never a panic.
//!
//! # Example
//!
//! ```
//! use mmap_alloc::{MapAlloc, Protection};
//!
//! // A buffer with a guard page on each side: an overrun faults at once.
//! let map = MapAlloc::builder().guard_pages(1, 1).protection(Protection::READ_WRITE).build().unwrap();
//! let len = 1 << 20;
//! let buf = map.map(len, 4096).unwrap();
//! // SAFETY: `buf` is a mapping of `len` bytes from `map`; its second half
//! // is not needed after the decommit.
//! unsafe {
//!     buf.as_ptr().write_bytes(0xee, len);
//!     map.decommit(buf.byte_add(len / 2), len / 2).unwrap(); // resident set drops by 512 KiB
//!     assert_eq!(*buf.as_ptr().add(len / 2), 0);
//!     map.unmap(buf, len).unwrap();
//! }
//! ```
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | [`MapAllocBuilder::file`], backing files named by path |
//!
//! # Platforms
//!
//! Linux on x86-64 and aarch64. Other targets fail to compile with a
//! message, rather than build something that misbehaves.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!(
    "mmap-alloc supports Linux on x86-64 and aarch64 only: it relies on mremap, MADV_* and MAP_HUGETLB"
);

#[cfg(feature = "std")]
extern crate std;

mod config;
mod error;
mod global;
mod map;
mod os;
mod untyped;

pub use config::{Decommit, HUGE_PAGE_SIZE, HugePages, MapAllocBuilder, Protection};
pub use error::{BuildError, MapError};
pub use map::MapAlloc;
pub use untyped::MapUntyped;

/// The README's examples, run as doc tests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
