//! Checks for general-purpose allocators through `allocator_api2`'s
//! [`Allocator`], the stable mirror of the standard library's trait (what
//! hashbrown and bumpalo use).
//!
//! Sizes run from 0 to 1 MiB and alignments from 1 byte to 64 KiB; the whole
//! block an allocator returns (which may be longer than asked for) must be
//! usable.

use allocator_api2::alloc::Allocator;

use crate::general::{self, ViaAllocator};
use crate::{CheckResult, Config};

/// Every size (zero included) crossed with every alignment: blocks are
/// aligned, distinct, writable over the whole length returned, and keep their
/// contents while others are written.
///
/// ```
/// object_alloc_test::allocator::layouts(&allocator_api2::alloc::Global).unwrap();
/// ```
pub fn layouts<A: Allocator + ?Sized>(alloc: &A) -> CheckResult {
    general::layouts(&ViaAllocator(alloc))
}

/// `allocate_zeroed` returns zeroed memory, also when it reuses a block that
/// was just freed dirty.
///
/// ```
/// object_alloc_test::allocator::zeroed(&allocator_api2::alloc::Global).unwrap();
/// ```
pub fn zeroed<A: Allocator + ?Sized>(alloc: &A) -> CheckResult {
    general::zeroed(&ViaAllocator(alloc))
}

/// `grow`, `grow_zeroed` and `shrink` up and down through the size range at
/// every alignment keep the common prefix, and `grow_zeroed` zeroes the new
/// tail.
///
/// ```
/// object_alloc_test::allocator::grow_shrink(&allocator_api2::alloc::Global).unwrap();
/// ```
pub fn grow_shrink<A: Allocator + ?Sized>(alloc: &A) -> CheckResult {
    general::resizing(&ViaAllocator(alloc))
}

/// A long seeded random sequence of every call over mixed sizes (zero
/// included) and alignments, with the corruption tester on.
///
/// ```
/// use object_alloc_test::Config;
/// let quick = Config { ops: 2_000, ..Config::from_env() };
/// object_alloc_test::allocator::random(&allocator_api2::alloc::Global, &quick).unwrap();
/// ```
pub fn random<A: Allocator + ?Sized>(alloc: &A, config: &Config) -> CheckResult {
    general::random(&ViaAllocator(alloc), config)
}

/// `config.threads` threads allocate mixed sizes at once and free each
/// other's blocks.
///
/// ```
/// use object_alloc_test::Config;
/// let quick = Config { ops: 4_000, ..Config::from_env() };
/// object_alloc_test::allocator::threads(&allocator_api2::alloc::Global, &quick).unwrap();
/// ```
pub fn threads<A: Allocator + Sync + ?Sized>(alloc: &A, config: &Config) -> CheckResult {
    general::threads(&ViaAllocator(alloc), config)
}
