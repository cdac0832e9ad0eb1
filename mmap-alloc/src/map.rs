//! `MapAlloc`: mappings, their release, and the ranges inside them.

use core::ffi::c_int;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Decommit, HUGE_PAGE_SIZE, HugePages, MapAllocBuilder, Protection};
use crate::error::{BuildError, MapError};
use crate::os;

/// An allocator of whole pages from the kernel.
///
/// Every mapping is `size` rounded up to whole pages (2 MiB pages with
/// [`HugePages::Explicit`]), starts on a page boundary or on `align` if that
/// is larger, and reads as zero when it is new. With guard pages, each
/// mapping sits between inaccessible pages of its own. The settings are
/// fixed when the allocator is built, so `unmap` recomputes a mapping's
/// extent from its address and size without any bookkeeping: the allocator
/// holds no state per mapping and needs no lock.
///
/// # Costs
///
/// With the default settings (base pages, no guards, anonymous) and an
/// alignment up to the page size, `map` is one `mmap` and `unmap` one
/// `munmap`. Larger alignments, guard pages and files reserve the address
/// range first (`PROT_NONE`, `MAP_NORESERVE`), map over the aligned part and
/// trim the rest: one more `mmap` and up to two `munmap`s.
///
/// ```
/// use mmap_alloc::MapAlloc;
///
/// let map = MapAlloc::new();
/// let p = map.map(3 * 4096, 2 << 20).unwrap();
/// assert_eq!(p.as_ptr() as usize % (2 << 20), 0);
/// // SAFETY: `p` is a mapping of 3 pages from `map`.
/// unsafe {
///     assert_eq!(*p.as_ptr(), 0, "new mappings read as zero");
///     map.unmap(p, 3 * 4096).unwrap();
/// }
/// ```
#[derive(Debug)]
pub struct MapAlloc {
    // Read by the fast path of `map` and `unmap`: the protection, the flags,
    // and whether a mapping is exactly one base-page `mmap` of the size.
    prot: c_int,
    flags: c_int,
    plain: bool,
    huge: HugePages,
    guard_before: usize,
    guard_after: usize,
    decommit: Decommit,
    file: Option<FileBacking>,
}

/// A file the mappings are appended to.
#[derive(Debug)]
pub(crate) struct FileBacking {
    fd: c_int,
    /// The file offset the next mapping takes.
    end: AtomicU64,
}

impl FileBacking {
    /// Takes ownership of `fd` (closed on drop), appending from its end.
    pub(crate) fn new(fd: c_int) -> Result<Self, BuildError> {
        let size = match os::file_size(fd) {
            Ok(size) => size,
            Err(e) => {
                os::close(fd);
                return Err(crate::config::file_error(e));
            }
        };
        let page = os::page_size() as u64;
        Ok(FileBacking {
            fd,
            end: AtomicU64::new(size.div_ceil(page) * page),
        })
    }

    /// Reserves `len` bytes of the file and its disk space.
    fn take(&self, len: usize) -> Result<i64, MapError> {
        let len = len as u64;
        let offset = self.end.fetch_add(len, Ordering::Relaxed);
        match (i64::try_from(offset), i64::try_from(len)) {
            (Ok(off), Ok(n)) if off.checked_add(n).is_some() => {
                os::fallocate(self.fd, off, n).map(|()| off)
            }
            _ => Err(MapError::TooLarge { size: len as usize }),
        }
    }
}

impl Drop for FileBacking {
    fn drop(&mut self) {
        os::close(self.fd);
    }
}

impl Default for MapAlloc {
    fn default() -> Self {
        MapAlloc::new()
    }
}

/// Rounds `n` up to a multiple of the power of two `to`.
const fn round_up(n: usize, to: usize) -> Option<usize> {
    match n.checked_add(to - 1) {
        Some(m) => Some(m & !(to - 1)),
        None => None,
    }
}

/// Whether a mapping of this many bytes is one the kernel could make.
const fn fits(len: usize) -> bool {
    len <= isize::MAX as usize
}

impl MapAlloc {
    /// Base pages, read and write, no guards, anonymous: what a
    /// `#[global_allocator]` or a slab backing usually wants.
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// static PAGES: MapAlloc = MapAlloc::new();
    /// let p = PAGES.map(1, 1).unwrap();
    /// // SAFETY: `p` is a one-page mapping from `PAGES`.
    /// unsafe { PAGES.unmap(p, 1).unwrap() };
    /// ```
    pub const fn new() -> Self {
        MapAlloc::from_parts(
            HugePages::None,
            0,
            0,
            Protection::READ_WRITE,
            false,
            Decommit::DontNeed,
            None,
        )
    }

    /// A builder for every other setting.
    ///
    /// ```
    /// use mmap_alloc::{HugePages, MapAlloc};
    ///
    /// let map = MapAlloc::builder().huge_pages(HugePages::Transparent).guard_pages(1, 1).build().unwrap();
    /// assert_eq!(map.guard_pages(), (1, 1));
    /// ```
    pub const fn builder() -> MapAllocBuilder {
        MapAllocBuilder::new()
    }

    pub(crate) const fn from_parts(
        huge: HugePages,
        guard_before: usize,
        guard_after: usize,
        prot: Protection,
        populate: bool,
        decommit: Decommit,
        file: Option<FileBacking>,
    ) -> Self {
        let mut flags = if file.is_some() {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS
        };
        if populate {
            flags |= libc::MAP_POPULATE;
        }
        let plain = matches!(huge, HugePages::None)
            && guard_before == 0
            && guard_after == 0
            && file.is_none();
        MapAlloc {
            prot: prot.bits(),
            flags,
            plain,
            huge,
            guard_before,
            guard_after,
            decommit,
            file,
        }
    }

    /// Maps at least `size` bytes aligned to `align`, reading as zero.
    ///
    /// # Errors
    ///
    /// [`MapError::ZeroSize`], [`MapError::BadAlignment`] for an alignment
    /// that is not a power of two, [`MapError::TooLarge`] when the size
    /// rounded to pages (with guards and alignment slack) overflows, and
    /// [`MapError::Kernel`] when the kernel refuses (`ENOMEM` when out of
    /// memory or address space).
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::new();
    /// let p = map.map(100, 64).unwrap();
    /// // SAFETY: `p` is a fresh mapping of at least 100 bytes from `map`.
    /// unsafe {
    ///     p.as_ptr().write_bytes(0xab, 100);
    ///     map.unmap(p, 100).unwrap();
    /// }
    /// ```
    #[inline]
    pub fn map(&self, size: usize, align: usize) -> Result<NonNull<u8>, MapError> {
        let page = os::page_size();
        if self.plain
            && size.wrapping_sub(1) < isize::MAX as usize - page
            && align.is_power_of_two()
            && align <= page
        {
            let len = (size + page - 1) & !(page - 1);
            // SAFETY: no fixed address, so the kernel picks a free range.
            return unsafe { os::mmap(None, len, self.prot, self.flags, -1, 0) };
        }
        self.map_slow(size, align)
    }

    #[cold]
    #[inline(never)]
    fn map_slow(&self, size: usize, align: usize) -> Result<NonNull<u8>, MapError> {
        if size == 0 {
            return Err(MapError::ZeroSize);
        }
        if !align.is_power_of_two() {
            return Err(MapError::BadAlignment { align });
        }
        let too_large = MapError::TooLarge { size };
        let len = self.mapped_size(size).ok_or(too_large)?;
        match self.huge {
            HugePages::Explicit { fallback } => {
                let align = align.max(HUGE_PAGE_SIZE);
                let flags = self.flags | libc::MAP_HUGETLB | libc::MAP_HUGE_2MB;
                // The kernel puts `MAP_HUGETLB` mappings on huge-page
                // boundaries itself, and explicit huge pages have no guards
                // or files (the builder refuses them), so up to 2 MiB of
                // alignment needs no reservation: an empty pool then fails
                // the call without touching the address space.
                let mapped = if align == HUGE_PAGE_SIZE {
                    // SAFETY: no fixed address, so the kernel picks a free
                    // range and touches nothing.
                    unsafe { os::mmap(None, len, self.prot, flags, -1, 0) }
                } else {
                    self.map_in_reservation(len, align, flags, size)
                };
                match mapped {
                    Err(MapError::Kernel {
                        errno: libc::ENOMEM,
                        ..
                    }) if fallback => self.map_transparent(len, align, size),
                    other => other,
                }
            }
            HugePages::Transparent if len >= HUGE_PAGE_SIZE => {
                self.map_transparent(len, align.max(HUGE_PAGE_SIZE), size)
            }
            HugePages::Transparent => self.map_transparent(len, align, size),
            HugePages::None => self.map_in_reservation(len, align, self.flags, size),
        }
    }

    fn map_transparent(
        &self,
        len: usize,
        align: usize,
        size: usize,
    ) -> Result<NonNull<u8>, MapError> {
        let p = self.map_in_reservation(len, align, self.flags, size)?;
        // SAFETY: `p..p + len` is the mapping just made; the advice does not
        // touch contents. A kernel without transparent huge pages answers
        // `EINVAL`, and base pages are then what the caller gets.
        let _ = unsafe { os::madvise(p, len, libc::MADV_HUGEPAGE) };
        Ok(p)
    }

    /// Maps `len` bytes (already rounded) aligned to `align`, with the guard
    /// pages around them: directly when nothing needs placing, otherwise
    /// inside a `PROT_NONE` reservation trimmed afterwards.
    fn map_in_reservation(
        &self,
        len: usize,
        align: usize,
        flags: c_int,
        size: usize,
    ) -> Result<NonNull<u8>, MapError> {
        let (fd, offset) = match &self.file {
            Some(file) => (file.fd, file.take(len)?),
            None => (-1, 0),
        };
        self.place(len, align, flags, fd, offset, size)
            .inspect_err(|_| {
                if fd >= 0 {
                    // The region's disk blocks were reserved for a mapping that
                    // failed: give them back. A file system without hole
                    // punching keeps them, which costs disk space only.
                    let _ = os::punch_hole(fd, offset, len as i64);
                }
            })
    }

    /// Maps `len` bytes of `fd` at `offset` (or anonymous memory) as
    /// [`map_in_reservation`](Self::map_in_reservation) describes.
    fn place(
        &self,
        len: usize,
        align: usize,
        flags: c_int,
        fd: c_int,
        offset: i64,
        size: usize,
    ) -> Result<NonNull<u8>, MapError> {
        let page = os::page_size();
        let too_large = MapError::TooLarge { size };
        let (before, after) = (self.guard_before * page, self.guard_after * page);
        let slack = align.saturating_sub(page);
        if before == 0 && after == 0 && slack == 0 {
            // SAFETY: no fixed address, so the kernel picks a free range.
            return unsafe { os::mmap(None, len, self.prot, flags, fd, offset) };
        }
        let total = [before, after, slack]
            .iter()
            .try_fold(len, |t, &x| t.checked_add(x))
            .filter(|&t| fits(t));
        let total = total.ok_or(too_large)?;
        let reserve = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        // SAFETY: no fixed address, so the kernel picks a free range.
        let base = unsafe { os::mmap(None, total, libc::PROT_NONE, reserve, -1, 0) }?;
        let first = base.addr().get() + before;
        let start =
            base.map_addr(|a| a.saturating_add(before + (first.wrapping_neg() & (align - 1))));
        let head = start.addr().get() - before - base.addr().get();
        let tail = total - head - before - len - after;
        // SAFETY: `start..start + len` lies inside the reservation (the
        // slack covers the distance to the aligned address), which this
        // function owns and nothing uses.
        if let Err(e) = unsafe { os::mmap(Some(start), len, self.prot, flags, fd, offset) } {
            // A failed `MAP_FIXED` may already have unmapped the part of the
            // reservation it was to replace, and another thread may have
            // mapped something into that hole since: give back only what is
            // still certainly ours, the head (with the guard before) and the
            // tail (from the guard after). The middle is at worst a
            // `PROT_NONE` range of address space left reserved, on a kernel
            // that puts the old mapping back.
            // SAFETY: both ranges are parts of the reservation made above
            // that the failed call did not cover, and nothing uses them.
            unsafe {
                if head + before > 0 {
                    let _ = os::munmap(base, head + before);
                }
                if tail + after > 0 {
                    let _ = os::munmap(start.byte_add(len), after + tail);
                }
            }
            return Err(e);
        }
        // SAFETY: the head and the tail are the unused ends of the
        // reservation; trimming them leaves guard, mapping and guard.
        unsafe {
            if head > 0 {
                os::munmap(base, head)?;
            }
            if tail > 0 {
                os::munmap(start.byte_add(len + after), tail)?;
            }
        }
        Ok(start)
    }

    /// Unmaps a mapping, its guard pages, and (for files) its disk blocks.
    ///
    /// # Safety
    ///
    /// `ptr` was returned by [`map`](Self::map) (or a resize) of this
    /// allocator with `size` (any size that rounds to the same pages), has
    /// not been unmapped, and nothing uses the memory afterwards.
    ///
    /// # Errors
    ///
    /// [`MapError::Unaligned`] when `ptr` is not at a page boundary (so it
    /// cannot be a mapping), [`MapError::Kernel`] when `munmap` fails.
    ///
    /// ```
    /// use mmap_alloc::{MapAlloc, MapError};
    ///
    /// let map = MapAlloc::new();
    /// let p = map.map(4096, 1).unwrap();
    /// // SAFETY: the misaligned address is refused before anything is
    /// // unmapped; `p` is then a mapping of 4096 bytes from `map`.
    /// unsafe {
    ///     assert!(matches!(map.unmap(p.byte_add(8), 4096), Err(MapError::Unaligned { .. })));
    ///     map.unmap(p, 4096).unwrap();
    /// }
    /// ```
    #[inline]
    pub unsafe fn unmap(&self, ptr: NonNull<u8>, size: usize) -> Result<(), MapError> {
        let page = os::page_size();
        if self.plain
            && ptr.addr().get() & (page - 1) == 0
            && size.wrapping_sub(1) < isize::MAX as usize - page
        {
            let len = (size + page - 1) & !(page - 1);
            // SAFETY: the caller passes a plain mapping of `len` bytes.
            return unsafe { os::munmap(ptr, len) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.unmap_slow(ptr, size) }
    }

    #[cold]
    #[inline(never)]
    unsafe fn unmap_slow(&self, ptr: NonNull<u8>, size: usize) -> Result<(), MapError> {
        let len = self.check_range(ptr, size)?;
        let page = os::page_size();
        let (before, after) = (self.guard_before * page, self.guard_after * page);
        if self.file.is_some() {
            // SAFETY: the caller passes a mapping of ours that nothing uses
            // any more. A file system without hole punching keeps the
            // blocks, which costs disk space and nothing else.
            let _ = unsafe { os::madvise(ptr, len, libc::MADV_REMOVE) };
        }
        // SAFETY: the guards and the mapping are one range of ours, as
        // `map_in_reservation` left them.
        unsafe { os::munmap(ptr.byte_sub(before), before + len + after) }
    }

    /// The bytes a range of `size` at `ptr` covers: `size` rounded to
    /// pages, after checking that `ptr` is at a page boundary.
    fn check_range(&self, ptr: NonNull<u8>, size: usize) -> Result<usize, MapError> {
        if ptr.addr().get() & (self.page_size() - 1) != 0 {
            return Err(MapError::Unaligned {
                addr: ptr.addr().get(),
            });
        }
        if size == 0 {
            return Err(MapError::ZeroSize);
        }
        self.mapped_size(size).ok_or(MapError::TooLarge { size })
    }

    /// The bytes a mapping of `size` really gets: `size` rounded up to
    /// whole pages, or `None` when that overflows.
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::new();
    /// assert_eq!(map.mapped_size(1), Some(map.page_size()));
    /// assert_eq!(map.mapped_size(usize::MAX), None);
    /// ```
    pub fn mapped_size(&self, size: usize) -> Option<usize> {
        round_up(size, self.page_size()).filter(|&len| fits(len))
    }

    /// The granularity of mappings: the base page size (read from the
    /// kernel once), or 2 MiB with [`HugePages::Explicit`].
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// assert!(MapAlloc::new().page_size().is_power_of_two());
    /// ```
    pub fn page_size(&self) -> usize {
        match self.huge {
            HugePages::Explicit { .. } => HUGE_PAGE_SIZE,
            _ => os::page_size(),
        }
    }

    /// Commits `ptr..ptr + len` now (`MADV_POPULATE_WRITE`, or
    /// `MADV_POPULATE_READ` for read-only mappings), so later touches do not
    /// fault. Pages are committed on first touch anyway; this moves the
    /// cost. A kernel older than 5.14 has no populate advice, and the call
    /// then succeeds without doing anything.
    ///
    /// # Safety
    ///
    /// `ptr..ptr + len` (`len` rounded up to pages) lies inside one mapping
    /// of this allocator.
    ///
    /// # Errors
    ///
    /// [`MapError::Unaligned`] when `ptr` is not at a page boundary;
    /// [`MapError::Kernel`] when the kernel cannot commit (`ENOMEM`).
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::new();
    /// let p = map.map(1 << 20, 1).unwrap();
    /// // SAFETY: the first 64 KiB lie inside the mapping `p`.
    /// unsafe {
    ///     map.commit(p, 64 << 10).unwrap();
    ///     map.unmap(p, 1 << 20).unwrap();
    /// }
    /// ```
    pub unsafe fn commit(&self, ptr: NonNull<u8>, len: usize) -> Result<(), MapError> {
        let len = self.check_range(ptr, len)?;
        let advice = match Protection::READ_WRITE.bits() & self.prot {
            p if p & libc::PROT_WRITE != 0 => libc::MADV_POPULATE_WRITE,
            p if p & libc::PROT_READ != 0 => libc::MADV_POPULATE_READ,
            _ => return Ok(()),
        };
        // SAFETY: the range is inside a mapping of ours (caller), and
        // populating keeps contents.
        match unsafe { os::madvise(ptr, len, advice) } {
            Err(MapError::Kernel {
                errno: libc::EINVAL,
                ..
            }) => Ok(()),
            other => other,
        }
    }

    /// Gives the pages of `ptr..ptr + len` back to the kernel, keeping the
    /// address range mapped: the resident set shrinks at once (with the
    /// default [`Decommit::DontNeed`]) and the range reads back as zero.
    /// File-backed mappings also free the range's disk blocks.
    ///
    /// # Safety
    ///
    /// `ptr..ptr + len` (`len` rounded up to pages) lies inside one mapping
    /// of this allocator, and its contents are no longer needed.
    ///
    /// # Errors
    ///
    /// [`MapError::Unaligned`] when `ptr` is not at a page boundary;
    /// [`MapError::Kernel`] when the kernel refuses.
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::new();
    /// let p = map.map(8192, 1).unwrap();
    /// // SAFETY: both pages lie inside the mapping `p`, and their contents
    /// // are not needed after the decommit.
    /// unsafe {
    ///     p.as_ptr().write_bytes(7, 8192);
    ///     map.decommit(p, 8192).unwrap();
    ///     assert_eq!(*p.as_ptr(), 0);
    ///     map.unmap(p, 8192).unwrap();
    /// }
    /// ```
    pub unsafe fn decommit(&self, ptr: NonNull<u8>, len: usize) -> Result<(), MapError> {
        let len = self.check_range(ptr, len)?;
        let advice = match (self.file.is_some(), self.decommit) {
            (true, _) => libc::MADV_REMOVE,
            (false, Decommit::DontNeed) => libc::MADV_DONTNEED,
            (false, Decommit::Free) => libc::MADV_FREE,
        };
        // SAFETY: the range is inside a mapping of ours whose contents the
        // caller no longer needs.
        unsafe { os::madvise(ptr, len, advice) }
    }

    /// Resizes the mapping at `ptr` from `old_size` to `new_size` bytes,
    /// keeping its first `min(old_size, new_size)` bytes, and returns where
    /// it now is. Shrinking always happens in place. Growing stays in place
    /// when the address space after the mapping is free; otherwise an
    /// anonymous mapping without guards moves with `mremap` (the kernel
    /// moves page tables, not bytes), and any other mapping is copied into
    /// a new one. The result is aligned to `align`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live mapping of this allocator of `old_size` bytes. On
    /// success the old mapping is gone (unless the same address is
    /// returned); on failure it is untouched.
    ///
    /// # Errors
    ///
    /// As [`map`](Self::map) for `new_size` and `align`, and
    /// [`MapError::Unaligned`] when `ptr` is not at a page boundary.
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// let map = MapAlloc::new();
    /// let p = map.map(4096, 1).unwrap();
    /// // SAFETY: `p` is a mapping of 4096 bytes, then `q` one of 1 MiB.
    /// unsafe {
    ///     p.as_ptr().write(42);
    ///     let q = map.remap(p, 4096, 1 << 20, 1).unwrap();
    ///     assert_eq!(q.as_ptr().read(), 42);
    ///     map.unmap(q, 1 << 20).unwrap();
    /// }
    /// ```
    pub unsafe fn remap(
        &self,
        ptr: NonNull<u8>,
        old_size: usize,
        new_size: usize,
        align: usize,
    ) -> Result<NonNull<u8>, MapError> {
        if !align.is_power_of_two() {
            return Err(MapError::BadAlignment { align });
        }
        let old_len = self.check_range(ptr, old_size)?;
        if new_size == 0 {
            return Err(MapError::ZeroSize);
        }
        let new_len = self
            .mapped_size(new_size)
            .ok_or(MapError::TooLarge { size: new_size })?;
        let aligned = ptr.addr().get() & (align - 1) == 0;
        if aligned && new_len <= old_len {
            if new_len < old_len {
                // SAFETY: `ptr` is a live mapping of `old_len` bytes.
                unsafe { self.shrink_in_place(ptr, old_len, new_len) }?;
            }
            return Ok(ptr);
        }
        let movable =
            self.plain || (self.file.is_none() && self.guard_before == 0 && self.guard_after == 0);
        if aligned && movable && !matches!(self.huge, HugePages::Explicit { .. }) {
            // SAFETY: an anonymous mapping without guards is one mapping
            // of `old_len` bytes at `ptr`, as `mremap` needs.
            if let Ok(q) = unsafe { os::mremap(ptr, old_len, new_len, false) } {
                return Ok(q);
            }
            if align <= os::page_size() {
                // SAFETY: as above; the kernel picks the new address.
                return unsafe { os::mremap(ptr, old_len, new_len, true) };
            }
        }
        let q = self.map(new_size, align)?;
        // SAFETY: both are live mappings of ours, distinct, each at least
        // the copied length long; the old one is then no longer used.
        unsafe {
            q.copy_from_nonoverlapping(ptr, old_size.min(new_size));
            self.unmap(ptr, old_size)?;
        }
        Ok(q)
    }

    /// Shrinks the mapping at `ptr` to `new_len` bytes, moving the guard
    /// after it down and freeing the rest.
    ///
    /// # Safety
    ///
    /// `ptr` is a live mapping of `old_len` bytes, and `new_len < old_len`,
    /// both whole pages.
    unsafe fn shrink_in_place(
        &self,
        ptr: NonNull<u8>,
        old_len: usize,
        new_len: usize,
    ) -> Result<(), MapError> {
        let after = self.guard_after * os::page_size();
        // SAFETY: `ptr + new_len` is inside the mapping (new_len < old_len).
        let tail = unsafe { ptr.byte_add(new_len) };
        let cut = old_len - new_len;
        if self.file.is_some() {
            // SAFETY: the tail is ours and the caller gives it up; a file
            // system without hole punching only keeps the blocks.
            let _ = unsafe { os::madvise(tail, cut, libc::MADV_REMOVE) };
        }
        if after > 0 {
            // SAFETY: `tail..tail + after` is ours: part of the mapping
            // given up, and possibly the start of the old guard.
            unsafe { os::mprotect(tail, after, libc::PROT_NONE) }?;
        }
        // SAFETY: `tail + after..ptr + old_len + after` is the rest of the
        // given-up tail and the old guard, all ours.
        unsafe { os::munmap(tail.byte_add(after), cut) }
    }

    /// The huge page setting.
    ///
    /// ```
    /// use mmap_alloc::{HugePages, MapAlloc};
    ///
    /// assert_eq!(MapAlloc::new().huge_pages(), HugePages::None);
    /// ```
    pub fn huge_pages(&self) -> HugePages {
        self.huge
    }

    /// The guard pages before and after every mapping, in base pages.
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// assert_eq!(MapAlloc::new().guard_pages(), (0, 0));
    /// ```
    pub fn guard_pages(&self) -> (usize, usize) {
        (self.guard_before, self.guard_after)
    }

    /// The access rights of mapped memory.
    ///
    /// ```
    /// use mmap_alloc::{MapAlloc, Protection};
    ///
    /// assert_eq!(MapAlloc::new().protection(), Protection::READ_WRITE);
    /// ```
    pub fn protection(&self) -> Protection {
        Protection::from_bits(self.prot)
    }

    /// Whether mappings are committed when they are made.
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// assert!(!MapAlloc::new().populates());
    /// ```
    pub fn populates(&self) -> bool {
        self.flags & libc::MAP_POPULATE != 0
    }

    /// How `decommit` gives pages back.
    ///
    /// ```
    /// use mmap_alloc::{Decommit, MapAlloc};
    ///
    /// assert_eq!(MapAlloc::new().decommit_mode(), Decommit::DontNeed);
    /// ```
    pub fn decommit_mode(&self) -> Decommit {
        self.decommit
    }

    /// Whether mappings are backed by a file.
    ///
    /// ```
    /// use mmap_alloc::MapAlloc;
    ///
    /// assert!(!MapAlloc::new().is_file_backed());
    /// ```
    pub fn is_file_backed(&self) -> bool {
        self.file.is_some()
    }
}
