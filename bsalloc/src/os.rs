//! The one module that talks to the kernel: anonymous private mappings and
//! the page size. Everything else in the crate gets memory from here.
//!
//! Only `mmap`, `munmap`, `mremap` and `sysconf` are called: system-call
//! wrappers that never allocate. Every mapping is released whole, by the
//! same length it was made with (or last remapped to), which is also the
//! shape of mapping Miri can model.
#![expect(
    clippy::disallowed_methods,
    reason = "raw memory enters bsalloc through this module"
)]

use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

/// The page size, read once from `sysconf`; zero until then.
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The page size this process runs with.
///
/// One relaxed load once it is known; the first call asks `sysconf`.
#[inline]
pub(crate) fn page_size() -> usize {
    match PAGE_SIZE.load(Ordering::Relaxed) {
        0 => page_size_slow(),
        size => size,
    }
}

#[cold]
#[inline(never)]
fn page_size_slow() -> usize {
    // SAFETY: `sysconf` reads a constant of the running system; it takes no
    // pointers and does not allocate.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    // A failed `sysconf` leaves 4 KiB, the smallest page Linux has: the
    // kernel rounds lengths up to its real page, and its addresses are
    // aligned to the real page and so to 4 KiB.
    let size = match usize::try_from(size) {
        Ok(size) if size.is_power_of_two() && size >= 4096 => size,
        _ => 4096,
    };
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size
}

/// Maps `len` bytes of fresh, zeroed, readable and writable memory, aligned
/// to the page size; `None` when the kernel refuses.
#[inline]
pub(crate) fn map(len: usize) -> Option<NonNull<u8>> {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing touches no existing memory; failure is reported as
    // `MAP_FAILED`, checked below.
    let ptr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr.addr() == usize::MAX {
        return None;
    }
    NonNull::new(ptr.cast())
}

/// Releases a whole mapping.
///
/// # Safety
///
/// - `ptr` and `len` are exactly a mapping returned by [`map`] or [`remap`]
///   (its start and the length it was made with), not yet released.
/// - Nothing uses the memory afterwards.
#[inline]
pub(crate) unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller hands over a whole live mapping that nothing uses
    // any more. `munmap` fails only on arguments that the caller's promise
    // rules out, so its result carries no information.
    let _ = unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
}

/// Grows or shrinks a mapping to `new_len` bytes, moving it if the kernel
/// must; the first `min(old_len, new_len)` bytes keep their contents and
/// grown bytes are zero. `None` (and the old mapping untouched) when the
/// kernel refuses.
///
/// # Safety
///
/// - `ptr` and `old_len` are exactly a live mapping from [`map`] or
///   [`remap`].
/// - On success the old address is no longer used: the mapping lives at the
///   returned address with length `new_len`.
#[inline]
pub(crate) unsafe fn remap(
    ptr: NonNull<u8>,
    old_len: usize,
    new_len: usize,
) -> Option<NonNull<u8>> {
    // SAFETY: the caller hands over a whole live mapping; `MREMAP_MAYMOVE`
    // lets the kernel choose the new address, and failure is reported as
    // `MAP_FAILED` with the old mapping intact.
    let new = unsafe { libc::mremap(ptr.as_ptr().cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
    if new.addr() == usize::MAX {
        return None;
    }
    NonNull::new(new.cast())
}
