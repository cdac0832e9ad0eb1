//! The C allocation API over any [`Backend`], with the C and POSIX rules.
//! [`export_malloc!`](crate::export_malloc) exports these under their C
//! names; they are also plain Rust functions, for tests and for embedding.
//!
//! | function | rule |
//! |---|---|
//! | `malloc(0)` | a unique pointer (a 1-byte block), freeable |
//! | `free(NULL)`, `cfree(NULL)` | nothing |
//! | `calloc(n, size)` | `n * size` overflowing: NULL, `errno = ENOMEM` |
//! | `realloc(NULL, n)` | `malloc(n)` |
//! | `realloc(p, 0)` | frees `p`, returns NULL (glibc's behaviour) |
//! | `realloc` failing | NULL, `errno = ENOMEM`, `p` untouched |
//! | `reallocarray(p, n, size)` | overflow: NULL, `ENOMEM`, `p` untouched |
//! | `posix_memalign` | alignment not a power of two or not a multiple of `sizeof(void *)`: returns `EINVAL`; no memory: `ENOMEM`; `errno` is never changed |
//! | `aligned_alloc` | alignment not a power of two: NULL, `errno = EINVAL` |
//! | `memalign` | alignment rounded up to a power of two, as glibc does |
//! | `valloc`, `pvalloc` | page-aligned; `pvalloc` rounds the size up to pages |
//! | `malloc_usable_size(NULL)` | 0 |
//! | `free_sized(p, n)`, `free_aligned_sized(p, a, n)` | `n` larger than the block (or `p` not aligned to `a`): the process aborts with a message naming the address |
//! | any size above `PTRDIFF_MAX` | NULL, `errno = ENOMEM` |

use core::ffi::c_void;
use core::ptr;

use crate::{Backend, MALLOC_ALIGN, errno, set_errno};

/// The page size `valloc` and `pvalloc` align to.
fn page() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// The largest size C allows an object to have.
const MAX_SIZE: usize = isize::MAX as usize;

/// `malloc`'s alignment for a block of `size` bytes: 16, or less for
/// blocks too small to hold anything that needs it (glibc gives 16 always;
/// so do we, the classes start at 16 bytes).
fn malloc_align(_size: usize) -> usize {
    MALLOC_ALIGN
}

/// Allocates with the C rules: size 0 becomes 1 (a unique pointer), sizes
/// above `PTRDIFF_MAX` fail, and failure sets `ENOMEM`. Always inlined, so
/// that `malloc`'s constant alignment and `zeroed` fold away.
#[inline(always)]
fn alloc_c<B: Backend + ?Sized>(b: &B, size: usize, align: usize, zeroed: bool) -> *mut c_void {
    if size > MAX_SIZE {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    let size = size.max(1);
    let p = if zeroed {
        b.allocate_zeroed(size, align)
    } else {
        b.allocate(size, align)
    };
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p.cast()
}

/// `malloc(size)`.
#[inline]
pub fn malloc<B: Backend + ?Sized>(b: &B, size: usize) -> *mut c_void {
    alloc_c(b, size, malloc_align(size), false)
}

/// `free(ptr)`.
///
/// # Safety
///
/// `ptr` is null or a live block of `b`, not used afterwards.
pub unsafe fn free<B: Backend + ?Sized>(b: &B, ptr: *mut c_void) {
    if !ptr.is_null() {
        // SAFETY: forwarded.
        unsafe { b.release(ptr.cast()) }
    }
}

/// `calloc(n, size)`.
pub fn calloc<B: Backend + ?Sized>(b: &B, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(total) => alloc_c(b, total, malloc_align(total), true),
        None => {
            set_errno(libc::ENOMEM);
            ptr::null_mut()
        }
    }
}

/// `realloc(ptr, size)`.
///
/// # Safety
///
/// `ptr` is null or a live block of `b`; unless NULL is returned for a
/// non-zero size, `ptr` is not used afterwards.
pub unsafe fn realloc<B: Backend + ?Sized>(b: &B, ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return malloc(b, size);
    }
    if size == 0 {
        // SAFETY: the caller's live block, freed once.
        unsafe { b.release(ptr.cast()) };
        return ptr::null_mut();
    }
    if size > MAX_SIZE {
        set_errno(libc::ENOMEM);
        return ptr::null_mut();
    }
    // SAFETY: the caller's live block; `size >= 1`.
    let p = unsafe { b.reallocate(ptr.cast(), size) };
    if p.is_null() {
        set_errno(libc::ENOMEM);
    }
    p.cast()
}

/// `reallocarray(ptr, n, size)`.
///
/// # Safety
///
/// As for [`realloc`].
pub unsafe fn reallocarray<B: Backend + ?Sized>(
    b: &B,
    ptr: *mut c_void,
    n: usize,
    size: usize,
) -> *mut c_void {
    match n.checked_mul(size) {
        // SAFETY: forwarded.
        Some(total) => unsafe { realloc(b, ptr, total) },
        None => {
            set_errno(libc::ENOMEM);
            ptr::null_mut()
        }
    }
}

/// `posix_memalign(memptr, align, size)`: returns 0, `EINVAL` or `ENOMEM`,
/// and leaves `errno` as it was.
///
/// # Safety
///
/// `memptr` is valid for a pointer write.
pub unsafe fn posix_memalign<B: Backend + ?Sized>(
    b: &B,
    memptr: *mut *mut c_void,
    align: usize,
    size: usize,
) -> i32 {
    if !align.is_power_of_two() || align % size_of::<*mut c_void>() != 0 {
        return libc::EINVAL;
    }
    let saved = errno();
    let p = alloc_c(b, size, align.max(MALLOC_ALIGN), false);
    set_errno(saved);
    if p.is_null() {
        return libc::ENOMEM;
    }
    // SAFETY: the caller's valid pointer.
    unsafe { memptr.write(p) };
    0
}

/// `aligned_alloc(align, size)`.
pub fn aligned_alloc<B: Backend + ?Sized>(b: &B, align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    }
    alloc_c(b, size, align.max(MALLOC_ALIGN), false)
}

/// `memalign(align, size)`: like glibc, an alignment that is not a power
/// of two is rounded up to one.
pub fn memalign<B: Backend + ?Sized>(b: &B, align: usize, size: usize) -> *mut c_void {
    let Some(align) = align.max(1).checked_next_power_of_two() else {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    };
    alloc_c(b, size, align.max(MALLOC_ALIGN), false)
}

/// `valloc(size)`: page-aligned.
pub fn valloc<B: Backend + ?Sized>(b: &B, size: usize) -> *mut c_void {
    alloc_c(b, size, page(), false)
}

/// `pvalloc(size)`: page-aligned, the size rounded up to whole pages (one
/// page for 0).
pub fn pvalloc<B: Backend + ?Sized>(b: &B, size: usize) -> *mut c_void {
    let page = page();
    match size.max(1).checked_next_multiple_of(page) {
        Some(rounded) => alloc_c(b, rounded, page, false),
        None => {
            set_errno(libc::ENOMEM);
            ptr::null_mut()
        }
    }
}

/// `malloc_usable_size(ptr)`.
///
/// # Safety
///
/// `ptr` is null or a live block of `b`.
pub unsafe fn malloc_usable_size<B: Backend + ?Sized>(b: &B, ptr: *mut c_void) -> usize {
    if ptr.is_null() {
        0
    } else {
        // SAFETY: the caller's live block.
        unsafe { b.usable_size(ptr.cast()) }
    }
}

/// C23 `free_sized(ptr, size)`: `size` must not exceed the block.
///
/// # Safety
///
/// As for [`free`]; a size the block cannot have aborts the process.
pub unsafe fn free_sized<B: Backend + ?Sized>(b: &B, ptr: *mut c_void, size: usize) {
    // SAFETY: forwarded.
    unsafe { free_aligned_sized(b, ptr, 1, size) }
}

/// C23 `free_aligned_sized(ptr, align, size)`: `ptr` must be aligned to
/// `align` and `size` must not exceed the block.
///
/// # Safety
///
/// As for [`free`]; a size or alignment the block cannot have aborts the
/// process.
pub unsafe fn free_aligned_sized<B: Backend + ?Sized>(
    b: &B,
    ptr: *mut c_void,
    align: usize,
    size: usize,
) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the caller's live block.
    let usable = unsafe { b.usable_size(ptr.cast()) };
    if size > usable || !align.is_power_of_two() || (ptr as usize) % align != 0 {
        crate::stats::die(format_args!(
            "malloc-bind: free_aligned_sized/free_sized of {ptr:p} with size {size} and alignment {align}: the block has {usable} usable bytes and alignment {}",
            1usize << (ptr as usize).trailing_zeros().min(63)
        ));
    }
    // SAFETY: checked above; the caller's live block, freed once.
    unsafe { b.release(ptr.cast()) }
}

/// `malloc_trim(pad)`: 1 if memory went back to the system, else 0.
pub fn malloc_trim<B: Backend + ?Sized>(b: &B, _pad: usize) -> i32 {
    i32::from(b.trim())
}

/// `malloc_stats()`: the backend's statistics on stderr.
pub fn malloc_stats<B: Backend + ?Sized>(b: &B) {
    crate::stats::print(b);
}
