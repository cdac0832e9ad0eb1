//! The settings a [`MapAlloc`](crate::MapAlloc) is built with, and the
//! builder that checks them.

use core::ffi::c_int;
use core::ops::BitOr;

use crate::error::BuildError;
use crate::map::{FileBacking, MapAlloc};
use crate::os;

/// The size of a huge page on x86-64 and on aarch64 with 4 KiB base pages.
pub const HUGE_PAGE_SIZE: usize = 2 << 20;

/// Which pages back a mapping.
///
/// ```
/// use mmap_alloc::{HugePages, MapAlloc};
///
/// let map = MapAlloc::builder().huge_pages(HugePages::Transparent).build().unwrap();
/// assert_eq!(map.huge_pages(), HugePages::Transparent);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HugePages {
    /// Base pages (4 KiB on x86-64), the kernel's default.
    #[default]
    None,
    /// Base-page mappings marked `MADV_HUGEPAGE`, so that the kernel backs
    /// them with transparent 2 MiB pages when it can. Mappings of 2 MiB and
    /// more are aligned to 2 MiB so that they can be. Advisory: a kernel
    /// with transparent huge pages disabled maps base pages.
    Transparent,
    /// `MAP_HUGETLB` with 2 MiB pages from the kernel's reserved pool
    /// (`/proc/sys/vm/nr_hugepages`). Sizes round up to 2 MiB. When the
    /// pool is empty the kernel refuses with `ENOMEM`; with `fallback` the
    /// mapping is then made as for [`HugePages::Transparent`] (same
    /// rounding and 2 MiB alignment), otherwise the refusal is returned.
    Explicit {
        /// Fall back to transparent huge pages when the pool is empty.
        fallback: bool,
    },
}

/// How [`MapAlloc::decommit`] gives pages back to the kernel.
///
/// ```
/// use mmap_alloc::{Decommit, MapAlloc};
///
/// let map = MapAlloc::builder().decommit(Decommit::Free).build().unwrap();
/// assert_eq!(map.decommit_mode(), Decommit::Free);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Decommit {
    /// `MADV_DONTNEED`: the pages leave the resident set at once and read
    /// back as zero.
    #[default]
    DontNeed,
    /// `MADV_FREE`: the kernel takes the pages when it needs memory, which
    /// is cheaper when they are soon written again. Until then they stay
    /// resident, and a decommitted range reads back as either its old
    /// contents or zero. File-backed mappings always use `MADV_REMOVE`.
    Free,
}

/// Access rights of mapped memory: combine with `|`.
///
/// ```
/// use mmap_alloc::Protection;
///
/// assert_eq!(Protection::READ | Protection::WRITE, Protection::READ_WRITE);
/// assert!(Protection::READ_WRITE.allows_write());
/// assert!(!Protection::READ.allows_write());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protection(c_int);

impl Protection {
    /// No access (`PROT_NONE`): every touch faults.
    pub const NONE: Protection = Protection(libc::PROT_NONE);
    /// Reads (`PROT_READ`).
    pub const READ: Protection = Protection(libc::PROT_READ);
    /// Writes (`PROT_WRITE`).
    pub const WRITE: Protection = Protection(libc::PROT_WRITE);
    /// Instruction fetches (`PROT_EXEC`).
    pub const EXEC: Protection = Protection(libc::PROT_EXEC);
    /// Reads and writes, the default.
    pub const READ_WRITE: Protection = Protection(libc::PROT_READ | libc::PROT_WRITE);

    /// Whether writes are allowed.
    ///
    /// ```
    /// use mmap_alloc::Protection;
    ///
    /// assert!((Protection::WRITE | Protection::EXEC).allows_write());
    /// ```
    pub const fn allows_write(self) -> bool {
        self.0 & libc::PROT_WRITE != 0
    }

    pub(crate) const fn bits(self) -> c_int {
        self.0
    }

    pub(crate) const fn from_bits(bits: c_int) -> Self {
        Protection(bits)
    }
}

impl BitOr for Protection {
    type Output = Protection;

    fn bitor(self, rhs: Protection) -> Protection {
        Protection(self.0 | rhs.0)
    }
}

/// Settings for a [`MapAlloc`], checked by [`build`](MapAllocBuilder::build).
///
/// ```
/// use mmap_alloc::{MapAlloc, Protection};
///
/// let map = MapAlloc::builder()
///     .guard_pages(1, 1)
///     .protection(Protection::READ_WRITE)
///     .populate(true)
///     .build()
///     .expect("valid settings");
/// let p = map.map(10_000, 4096).unwrap();
/// // SAFETY: `p` is a fresh mapping of at least 10,000 bytes from `map`.
/// unsafe {
///     p.as_ptr().write_bytes(1, 10_000);
///     map.unmap(p, 10_000).unwrap();
/// }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct MapAllocBuilder {
    huge: HugePages,
    guard_before: usize,
    guard_after: usize,
    prot: Protection,
    populate: bool,
    decommit: Decommit,
    file: FileSource,
}

#[derive(Debug)]
enum FileSource {
    None,
    Fd(c_int),
    #[cfg(feature = "std")]
    Path(std::path::PathBuf),
}

impl MapAllocBuilder {
    pub(crate) const fn new() -> Self {
        MapAllocBuilder {
            huge: HugePages::None,
            guard_before: 0,
            guard_after: 0,
            prot: Protection::READ_WRITE,
            populate: false,
            decommit: Decommit::DontNeed,
            file: FileSource::None,
        }
    }

    /// Which pages back the mappings (default: base pages).
    ///
    /// ```
    /// use mmap_alloc::{HugePages, MapAlloc};
    ///
    /// let map = MapAlloc::builder().huge_pages(HugePages::Explicit { fallback: true }).build().unwrap();
    /// assert_eq!(map.page_size(), 2 << 20);
    /// ```
    pub fn huge_pages(mut self, huge: HugePages) -> Self {
        self.huge = huge;
        self
    }

    /// Inaccessible (`PROT_NONE`) base pages before and after every
    /// mapping, so that an overrun or underrun faults instead of reaching a
    /// neighbour. They cost address space, not memory (default: none).
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::builder().guard_pages(1, 2).build().unwrap();
    /// assert_eq!(map.guard_pages(), (1, 2));
    /// ```
    pub fn guard_pages(mut self, before: usize, after: usize) -> Self {
        self.guard_before = before;
        self.guard_after = after;
        self
    }

    /// The access rights of mapped memory (default: read and write).
    ///
    /// ```
    /// use mmap_alloc::{MapAlloc, Protection};
    ///
    /// let map = MapAlloc::builder().protection(Protection::READ).build().unwrap();
    /// assert_eq!(map.protection(), Protection::READ);
    /// ```
    pub fn protection(mut self, prot: Protection) -> Self {
        self.prot = prot;
        self
    }

    /// Commit every page when it is mapped (`MAP_POPULATE`), trading a
    /// slower `map` for no page faults later (default: off).
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::builder().populate(true).build().unwrap();
    /// assert!(map.populates());
    /// ```
    pub fn populate(mut self, populate: bool) -> Self {
        self.populate = populate;
        self
    }

    /// How `decommit` releases pages (default: `MADV_DONTNEED`).
    ///
    /// ```
    /// use mmap_alloc::{Decommit, MapAlloc};
    ///
    /// let map = MapAlloc::builder().decommit(Decommit::Free).build().unwrap();
    /// assert_eq!(map.decommit_mode(), Decommit::Free);
    /// ```
    pub fn decommit(mut self, mode: Decommit) -> Self {
        self.decommit = mode;
        self
    }

    /// Back the mappings with the file open as `fd` (read and write), so
    /// the kernel writes cold pages back to the file instead of to swap.
    /// The allocator keeps its own duplicate of `fd` and appends each new
    /// mapping to the file, starting at its current end; unmapping or
    /// decommitting a range frees its disk blocks (`MADV_REMOVE`).
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use mmap_alloc::MapAlloc;
    ///
    /// let file = std::fs::File::options().read(true).write(true).create(true).truncate(true)
    ///     .open(std::env::temp_dir().join("mmap-alloc-doc-fd")).unwrap();
    /// let map = MapAlloc::builder().file_descriptor(file.as_raw_fd()).build().unwrap();
    /// assert!(map.is_file_backed());
    /// ```
    pub fn file_descriptor(mut self, fd: c_int) -> Self {
        self.file = FileSource::Fd(fd);
        self
    }

    /// Back the mappings with the file at `path`, created (mode 0600) if
    /// missing; see [`file_descriptor`](Self::file_descriptor).
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::builder().file(std::env::temp_dir().join("mmap-alloc-doc-path")).build().unwrap();
    /// let p = map.map(4096, 4096).unwrap();
    /// // SAFETY: `p` is a fresh mapping of 4096 bytes from `map`.
    /// unsafe { map.unmap(p, 4096).unwrap() };
    /// ```
    #[cfg(feature = "std")]
    pub fn file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.file = FileSource::Path(path.into());
        self
    }

    /// Checks the settings and makes the allocator.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] saying which settings conflict, or why the file
    /// could not be used.
    ///
    /// ```
    /// use mmap_alloc::{BuildError, MapAlloc};
    ///
    /// assert_eq!(
    ///     MapAlloc::builder().guard_pages(usize::MAX, 1).build().unwrap_err(),
    ///     BuildError::GuardTooLarge { pages: usize::MAX },
    /// );
    /// ```
    pub fn build(self) -> Result<MapAlloc, BuildError> {
        let explicit = matches!(self.huge, HugePages::Explicit { .. });
        if explicit && (self.guard_before > 0 || self.guard_after > 0) {
            return Err(BuildError::GuardPagesWithHugeTlb);
        }
        let page = os::page_size();
        for pages in [self.guard_before, self.guard_after] {
            if pages
                .checked_mul(page)
                .is_none_or(|b| b > isize::MAX as usize / 4)
            {
                return Err(BuildError::GuardTooLarge { pages });
            }
        }
        let file = match self.file {
            FileSource::None => None,
            _ if explicit => return Err(BuildError::FileWithHugeTlb),
            FileSource::Fd(fd) => Some(FileBacking::new(os::dup(fd).map_err(file_error)?)?),
            #[cfg(feature = "std")]
            FileSource::Path(path) => Some(FileBacking::new(open(&path)?)?),
        };
        Ok(MapAlloc::from_parts(
            self.huge,
            self.guard_before,
            self.guard_after,
            self.prot,
            self.populate,
            self.decommit,
            file,
        ))
    }
}

pub(crate) fn file_error(e: crate::MapError) -> BuildError {
    match e {
        crate::MapError::Kernel { call, errno } => BuildError::File { call, errno },
        _ => BuildError::File {
            call: "open",
            errno: 0,
        },
    }
}

#[cfg(feature = "std")]
fn open(path: &std::path::Path) -> Result<c_int, BuildError> {
    use std::os::fd::IntoRawFd;
    use std::os::unix::fs::OpenOptionsExt;

    std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(IntoRawFd::into_raw_fd)
        .map_err(|e| BuildError::File {
            call: "open",
            errno: e.raw_os_error().unwrap_or(0),
        })
}
