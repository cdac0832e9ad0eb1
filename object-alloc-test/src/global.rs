//! Checks for general-purpose allocators through [`GlobalAlloc`].
//!
//! Sizes run from 1 byte to 1 MiB (`GlobalAlloc` forbids zero) and
//! alignments from 1 byte to 64 KiB.

use std::alloc::GlobalAlloc;

use crate::general::{self, ViaGlobal};
use crate::{CheckResult, Config};

/// Every size crossed with every alignment: blocks are aligned, distinct and
/// writable over their whole size, and keep their contents while others are
/// written.
///
/// ```
/// object_alloc_test::global::layouts(&std::alloc::System).unwrap();
/// ```
pub fn layouts<G: GlobalAlloc + ?Sized>(global: &G) -> CheckResult {
    general::layouts(&ViaGlobal(global))
}

/// `alloc_zeroed` returns zeroed memory, also when it reuses a block that was
/// just freed dirty.
///
/// ```
/// object_alloc_test::global::zeroed(&std::alloc::System).unwrap();
/// ```
pub fn zeroed<G: GlobalAlloc + ?Sized>(global: &G) -> CheckResult {
    general::zeroed(&ViaGlobal(global))
}

/// `realloc` up and down through the size range at every alignment keeps the
/// contents of the common prefix and the alignment.
///
/// ```
/// object_alloc_test::global::realloc(&std::alloc::System).unwrap();
/// ```
pub fn realloc<G: GlobalAlloc + ?Sized>(global: &G) -> CheckResult {
    general::resizing(&ViaGlobal(global))
}

/// A long seeded random sequence of `alloc`, `alloc_zeroed`, `realloc` and
/// `dealloc` over mixed sizes and alignments, with the corruption tester on.
///
/// ```
/// use object_alloc_test::Config;
/// let quick = Config { ops: 2_000, ..Config::from_env() };
/// object_alloc_test::global::random(&std::alloc::System, &quick).unwrap();
/// ```
pub fn random<G: GlobalAlloc + ?Sized>(global: &G, config: &Config) -> CheckResult {
    general::random(&ViaGlobal(global), config)
}

/// `config.threads` threads allocate mixed sizes at once and free each
/// other's blocks.
///
/// ```
/// use object_alloc_test::Config;
/// let quick = Config { ops: 4_000, ..Config::from_env() };
/// object_alloc_test::global::threads(&std::alloc::System, &quick).unwrap();
/// ```
pub fn threads<G: GlobalAlloc + Sync + ?Sized>(global: &G, config: &Config) -> CheckResult {
    general::threads(&ViaGlobal(global), config)
}
