//! What can go wrong, with enough detail to act on.

use core::fmt;

/// Why a mapping operation failed. Nothing is mapped, unmapped or changed
/// when an operation returns one of these, except where a variant says so.
///
/// ```
/// use mmap_alloc::{MapAlloc, MapError};
///
/// let map = MapAlloc::default();
/// assert_eq!(map.map(0, 4096), Err(MapError::ZeroSize));
/// assert_eq!(map.map(4096, 3), Err(MapError::BadAlignment { align: 3 }));
/// assert_eq!(map.map(usize::MAX - 10, 1), Err(MapError::TooLarge { size: usize::MAX - 10 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapError {
    /// A mapping of zero bytes was asked for.
    ZeroSize,
    /// The alignment is not a power of two.
    BadAlignment {
        /// The alignment asked for.
        align: usize,
    },
    /// The size, rounded up to whole pages with the guard pages and the
    /// alignment slack added, does not fit in the address space.
    TooLarge {
        /// The size asked for, in bytes.
        size: usize,
    },
    /// An address passed to `commit`, `decommit` or `unmap` is not at the
    /// start of a page.
    Unaligned {
        /// The address.
        addr: usize,
    },
    /// The kernel refused.
    Kernel {
        /// The system call.
        call: &'static str,
        /// Its `errno` (`ENOMEM` when out of memory or address space).
        errno: i32,
    },
}

impl MapError {
    /// The `errno` of a kernel refusal, `None` for a refusal made before
    /// asking the kernel.
    ///
    /// ```
    /// use mmap_alloc::MapError;
    ///
    /// assert_eq!(MapError::Kernel { call: "mmap", errno: 12 }.errno(), Some(12));
    /// assert_eq!(MapError::ZeroSize.errno(), None);
    /// ```
    pub fn errno(&self) -> Option<i32> {
        match *self {
            MapError::Kernel { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MapError::ZeroSize => f.write_str("a mapping of zero bytes was asked for"),
            MapError::BadAlignment { align } => {
                write!(f, "alignment {align} is not a power of two")
            }
            MapError::TooLarge { size } => {
                write!(
                    f,
                    "{size} bytes rounded up to whole pages overflow the address space"
                )
            }
            MapError::Unaligned { addr } => {
                write!(f, "address {addr:#x} is not at the start of a page")
            }
            MapError::Kernel { call, errno } => write!(f, "{call} failed with errno {errno}"),
        }
    }
}

impl core::error::Error for MapError {}

/// Why a [`MapAllocBuilder`](crate::MapAllocBuilder) refused its settings.
///
/// ```
/// use mmap_alloc::{BuildError, HugePages, MapAlloc};
///
/// let err = MapAlloc::builder().huge_pages(HugePages::Explicit { fallback: false }).guard_pages(1, 1).build();
/// assert_eq!(err.unwrap_err(), BuildError::GuardPagesWithHugeTlb);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Guard pages were asked for together with explicit huge pages; a
    /// guard would cost a whole 2 MiB page.
    GuardPagesWithHugeTlb,
    /// A file-backed mapping was asked for together with explicit huge
    /// pages, which need a hugetlbfs file this crate does not manage.
    FileWithHugeTlb,
    /// The guard pages do not fit in the address space.
    GuardTooLarge {
        /// The pages asked for, before and after.
        pages: usize,
    },
    /// The alignment is not a power of two.
    BadAlignment {
        /// The alignment asked for.
        align: usize,
    },
    /// The layout of an untyped allocator has zero size.
    ZeroSize,
    /// The backing file could not be opened, duplicated or measured.
    File {
        /// What was tried.
        call: &'static str,
        /// Its `errno`.
        errno: i32,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BuildError::GuardPagesWithHugeTlb => {
                f.write_str("guard pages cannot be combined with explicit (hugetlb) huge pages")
            }
            BuildError::FileWithHugeTlb => {
                f.write_str("file-backed mappings cannot use explicit (hugetlb) huge pages")
            }
            BuildError::GuardTooLarge { pages } => {
                write!(f, "{pages} guard pages do not fit in the address space")
            }
            BuildError::BadAlignment { align } => {
                write!(f, "alignment {align} is not a power of two")
            }
            BuildError::ZeroSize => {
                f.write_str("an untyped allocator needs a layout of at least one byte")
            }
            BuildError::File { call, errno } => {
                write!(f, "the backing file: {call} failed with errno {errno}")
            }
        }
    }
}

impl core::error::Error for BuildError {}
