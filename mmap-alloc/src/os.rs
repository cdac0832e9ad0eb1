//! The only module that talks to the kernel. Every other module goes through
//! these wrappers, which turn `MAP_FAILED` and `-1` into a [`MapError`] that
//! names the call and carries `errno`.

#![expect(
    clippy::disallowed_methods,
    reason = "this module is where raw memory enters the crate"
)]

use core::ffi::c_int;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::error::MapError;

/// The size of a base page, read from the kernel once and cached.
///
/// Relaxed ordering is enough: every thread that races on the first call
/// stores the same value.
pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            let page = read_page_size();
            PAGE.store(page, Ordering::Relaxed);
            page
        }
        page => page,
    }
}

#[cold]
#[inline(never)]
fn read_page_size() -> usize {
    if cfg!(miri) {
        // Miri's `sysconf` knows the page size, but keeping the constant
        // here lets the pure-arithmetic tests run without a shim.
        return 4096;
    }
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    match usize::try_from(page) {
        Ok(page) if page.is_power_of_two() => page,
        // Linux always answers; 4 KiB is the smallest page of every target
        // this crate compiles for.
        _ => 4096,
    }
}

fn errno() -> c_int {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for the thread's lifetime.
    unsafe { *libc::__errno_location() }
}

/// Maps `len` bytes. With `at`, the mapping replaces whatever is mapped
/// there (`MAP_FIXED`).
///
/// # Safety
///
/// - With `at`, the range `at..at + len` is a reservation this crate owns
///   and nothing in it is in use.
/// - `fd` is an open file descriptor or -1 for anonymous mappings.
pub(crate) unsafe fn mmap(
    at: Option<NonNull<u8>>,
    len: usize,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    offset: i64,
) -> Result<NonNull<u8>, MapError> {
    let (addr, flags) = match at {
        Some(at) => (at.as_ptr().cast(), flags | libc::MAP_FIXED),
        None => (ptr::null_mut(), flags),
    };
    // SAFETY: the caller guarantees that a fixed range is ours to replace;
    // without `MAP_FIXED` the kernel picks a free range and touches nothing.
    let p = unsafe { libc::mmap(addr, len, prot, flags, fd, offset) };
    if p == libc::MAP_FAILED {
        return Err(MapError::Kernel {
            call: "mmap",
            errno: errno(),
        });
    }
    NonNull::new(p.cast()).ok_or(MapError::Kernel {
        call: "mmap",
        errno: 0,
    })
}

/// Unmaps `len` bytes at `p`.
///
/// # Safety
///
/// `p..p + len` lies in mappings this crate made, and nothing uses it after.
pub(crate) unsafe fn munmap(p: NonNull<u8>, len: usize) -> Result<(), MapError> {
    // SAFETY: forwarded from the caller.
    match unsafe { libc::munmap(p.as_ptr().cast(), len) } {
        0 => Ok(()),
        _ => Err(MapError::Kernel {
            call: "munmap",
            errno: errno(),
        }),
    }
}

/// Resizes the mapping at `p` from `old` to `new` bytes, moving it if
/// `may_move`.
///
/// # Safety
///
/// `p..p + old` is exactly one mapping this crate made.
pub(crate) unsafe fn mremap(
    p: NonNull<u8>,
    old: usize,
    new: usize,
    may_move: bool,
) -> Result<NonNull<u8>, MapError> {
    let flags = if may_move { libc::MREMAP_MAYMOVE } else { 0 };
    // SAFETY: forwarded from the caller; without `MREMAP_FIXED` the kernel
    // only grows into free address space.
    let q = unsafe { libc::mremap(p.as_ptr().cast(), old, new, flags) };
    if q == libc::MAP_FAILED {
        return Err(MapError::Kernel {
            call: "mremap",
            errno: errno(),
        });
    }
    NonNull::new(q.cast()).ok_or(MapError::Kernel {
        call: "mremap",
        errno: 0,
    })
}

/// Gives the kernel `advice` about `p..p + len`.
///
/// # Safety
///
/// `p..p + len` lies in mappings this crate made, and the advice's effect
/// on contents (`MADV_DONTNEED`, `MADV_FREE` and `MADV_REMOVE` discard
/// them) is what the caller wants.
pub(crate) unsafe fn madvise(p: NonNull<u8>, len: usize, advice: c_int) -> Result<(), MapError> {
    // SAFETY: forwarded from the caller.
    match unsafe { libc::madvise(p.as_ptr().cast(), len, advice) } {
        0 => Ok(()),
        _ => Err(MapError::Kernel {
            call: "madvise",
            errno: errno(),
        }),
    }
}

/// Changes the protection of `p..p + len`.
///
/// # Safety
///
/// `p..p + len` lies in mappings this crate made, and no reference into it
/// relies on the access being removed.
pub(crate) unsafe fn mprotect(p: NonNull<u8>, len: usize, prot: c_int) -> Result<(), MapError> {
    // SAFETY: forwarded from the caller.
    match unsafe { libc::mprotect(p.as_ptr().cast(), len, prot) } {
        0 => Ok(()),
        _ => Err(MapError::Kernel {
            call: "mprotect",
            errno: errno(),
        }),
    }
}

/// Makes sure `offset..offset + len` of the file has disk space, growing the
/// file if it ends before (never shrinking it).
pub(crate) fn fallocate(fd: c_int, offset: i64, len: i64) -> Result<(), MapError> {
    // SAFETY: `fallocate` on any descriptor only fails with an error code.
    match unsafe { libc::fallocate(fd, 0, offset, len) } {
        0 => Ok(()),
        _ => Err(MapError::Kernel {
            call: "fallocate",
            errno: errno(),
        }),
    }
}

/// Frees the disk blocks of `offset..offset + len` of the file, keeping its
/// size; the range reads back as zero.
pub(crate) fn punch_hole(fd: c_int, offset: i64, len: i64) -> Result<(), MapError> {
    let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    // SAFETY: `fallocate` on any descriptor only fails with an error code.
    match unsafe { libc::fallocate(fd, mode, offset, len) } {
        0 => Ok(()),
        _ => Err(MapError::Kernel {
            call: "fallocate(PUNCH_HOLE)",
            errno: errno(),
        }),
    }
}

/// The size of the file behind `fd`.
pub(crate) fn file_size(fd: c_int) -> Result<u64, MapError> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is writable storage for one `stat`.
    match unsafe { libc::fstat(fd, st.as_mut_ptr()) } {
        // SAFETY: `fstat` succeeded, so it filled `st`.
        0 => Ok(u64::try_from(unsafe { st.assume_init() }.st_size).unwrap_or(0)),
        _ => Err(MapError::Kernel {
            call: "fstat",
            errno: errno(),
        }),
    }
}

/// Duplicates `fd` with close-on-exec set, so the allocator owns its copy.
pub(crate) fn dup(fd: c_int) -> Result<c_int, MapError> {
    // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` on any descriptor only fails with an
    // error code.
    match unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) } {
        -1 => Err(MapError::Kernel {
            call: "fcntl(F_DUPFD_CLOEXEC)",
            errno: errno(),
        }),
        new => Ok(new),
    }
}

/// Closes a descriptor this crate owns.
pub(crate) fn close(fd: c_int) {
    // SAFETY: the caller owns `fd` and never uses it again; a failed close
    // of a regular file loses nothing that is not already on disk.
    unsafe { libc::close(fd) };
}
