//! A class-tagged allocation API over shared slab caches, in the spirit of
//! slitter: a program registers a class of objects once (a name, the
//! object size and alignment, whether objects come zeroed), then allocates
//! and releases by class. Each class is a slab cache of its own behind a
//! spin lock, over 64 KiB slabs mapped from the kernel, so objects of
//! different classes never share a slab, and a release into the wrong
//! class is caught: the process stops with a message naming both classes
//! and the address.
//!
//! The C header is `include/malloc_bind.h`;
//! [`export_class_api!`](crate::export_class_api) exports these functions as
//! `slab_class_*`.
//!
//! ```
//! use malloc_bind::classes;
//!
//! let id = classes::register(c"sessions", 200, 8, true).unwrap();
//! let p = classes::alloc(id);
//! assert!(!p.is_null());
//! // SAFETY: `p` is a live object of class `id`, released once.
//! unsafe {
//!     assert_eq!(*p.cast::<u8>(), 0);
//!     classes::release(id, p);
//! }
//! assert_eq!(classes::name(id), Some("sessions"));
//! ```

use core::alloc::Layout;
use core::ffi::{CStr, c_void};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use mmap_alloc::{MapAlloc, MapUntyped};
use object_alloc::UntypedObjectAlloc;
use slab_alloc::{Locked, RawLock, SlabBuilder, UntypedSlabAlloc, slab_layout_for};

use crate::set_errno;

/// The most classes a process can register.
pub const MAX_CLASSES: usize = 256;

/// One registered class.
struct Class {
    name: &'static str,
    zeroed: bool,
    size: usize,
    cache: Locked<UntypedSlabAlloc<MapUntyped>>,
}

static CLASSES: [OnceLock<Class>; MAX_CLASSES] = [const { OnceLock::new() }; MAX_CLASSES];
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Where class names are copied to: bootstrap memory, never freed (a class
/// lives as long as the process).
static NAMES: bsalloc::BsAlloc = bsalloc::BsAlloc::new();

/// Why a class could not be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// A zero size, an alignment that is not a power of two, or a name
    /// that is not UTF-8: `EINVAL`.
    Invalid,
    /// All [`MAX_CLASSES`] classes are taken, or no memory: `ENOMEM`.
    Exhausted,
}

impl RegisterError {
    /// The `errno` value the C function reports.
    pub fn errno(self) -> i32 {
        match self {
            RegisterError::Invalid => libc::EINVAL,
            RegisterError::Exhausted => libc::ENOMEM,
        }
    }
}

/// Registers a class of `size`-byte objects aligned to `align`, zeroed on
/// every allocation if `zeroed`; returns its id.
///
/// # Errors
///
/// [`RegisterError`] says why.
pub fn register(
    name: &CStr,
    size: usize,
    align: usize,
    zeroed: bool,
) -> Result<u32, RegisterError> {
    let name = name.to_str().map_err(|_| RegisterError::Invalid)?;
    let layout = Layout::from_size_align(size, align).map_err(|_| RegisterError::Invalid)?;
    if size == 0 {
        return Err(RegisterError::Invalid);
    }
    FORK_HANDLERS.call_once(|| {
        // SAFETY: the handlers are `extern "C" fn()`s of this library,
        // which lives as long as the process forks.
        unsafe { libc::pthread_atfork(Some(prepare_fork), Some(after_fork), Some(after_fork)) };
    });
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if id >= MAX_CLASSES {
        NEXT.fetch_sub(1, Ordering::Relaxed);
        return Err(RegisterError::Exhausted);
    }
    let name = copy_name(name).ok_or(RegisterError::Exhausted)?;
    let backing = MapUntyped::new(MapAlloc::new(), slab_layout_for(layout))
        .map_err(|_| RegisterError::Invalid)?;
    let cache = SlabBuilder::new(name)
        .layout(layout)
        .build_untyped(backing)
        .map_err(|_| RegisterError::Invalid)?;
    let class = Class {
        name,
        zeroed,
        size,
        cache: Locked::new(cache),
    };
    CLASSES[id]
        .set(class)
        .map_err(|_| RegisterError::Exhausted)?;
    Ok(id as u32)
}

/// A `'static` copy of `name` in bootstrap memory.
fn copy_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("");
    }
    let layout = Layout::from_size_align(name.len(), 1).ok()?;
    // SAFETY: a non-zero layout; the copy is never freed.
    let p = unsafe { core::alloc::GlobalAlloc::alloc(&NAMES, layout) };
    let p = NonNull::new(p)?;
    // SAFETY: a fresh block of `name.len()` bytes, filled with UTF-8.
    unsafe {
        ptr::copy_nonoverlapping(name.as_ptr(), p.as_ptr(), name.len());
        Some(core::str::from_utf8_unchecked(core::slice::from_raw_parts(
            p.as_ptr(),
            name.len(),
        )))
    }
}

/// The classes' `fork` handlers, registered with the first class.
static FORK_HANDLERS: Once = Once::new();

/// Which classes [`prepare_fork`] locked: the ones registered by then (a
/// class registered while the fork is under way is not locked, and so not
/// unlocked either).
static HELD_FOR_FORK: [AtomicBool; MAX_CLASSES] = [const { AtomicBool::new(false) }; MAX_CLASSES];

/// Takes every class's lock before a `fork`, so that the child finds them
/// free (a class in use by another thread at the fork would stay locked in
/// the child forever). Prepare handlers run in the reverse order of
/// registration, so these run before the `malloc`'s own (registered at
/// load time): class locks are taken first, as a class nests the slab
/// registry's lock inside its own.
extern "C" fn prepare_fork() {
    for (class, held) in CLASSES.iter().zip(&HELD_FOR_FORK) {
        if let Some(class) = class.get() {
            class.cache.raw_lock().lock();
            held.store(true, Ordering::Relaxed);
        }
    }
}

/// Releases what [`prepare_fork`] took, in the parent and in the child.
extern "C" fn after_fork() {
    for (class, held) in CLASSES.iter().zip(&HELD_FOR_FORK) {
        if held.swap(false, Ordering::Relaxed) {
            if let Some(class) = class.get() {
                // SAFETY: `prepare_fork` took this lock in this thread (in
                // the child, the thread that forked) and marked it.
                unsafe { class.cache.raw_lock().unlock() };
            }
        }
    }
}

fn class(id: u32) -> Option<&'static Class> {
    CLASSES.get(id as usize)?.get()
}

/// The name of class `id`, if registered.
pub fn name(id: u32) -> Option<&'static str> {
    class(id).map(|c| c.name)
}

/// An object of class `id`, or null (`errno` `EINVAL` for an unknown
/// class, `ENOMEM` when memory runs out).
pub fn alloc(id: u32) -> *mut c_void {
    let Some(c) = class(id) else {
        set_errno(libc::EINVAL);
        return ptr::null_mut();
    };
    match c.cache.with(|s| s.alloc()) {
        Ok(p) => {
            if c.zeroed {
                // SAFETY: a fresh object of `size` bytes.
                unsafe { p.as_ptr().write_bytes(0, c.size) };
            }
            p.as_ptr().cast()
        }
        Err(_) => {
            set_errno(libc::ENOMEM);
            ptr::null_mut()
        }
    }
}

/// Releases `ptr` into class `id`. Null does nothing. An address that is
/// not a live object of the class (another class's object, an interior
/// pointer, a double release, a foreign address) stops the process with a
/// message naming the class, the address and what was wrong.
///
/// # Safety
///
/// If `ptr` is an object of class `id`, nothing uses it afterwards.
pub unsafe fn release(id: u32, ptr: *mut c_void) {
    let Some(p) = NonNull::new(ptr.cast::<u8>()) else {
        return;
    };
    let Some(c) = class(id) else {
        crate::stats::die(format_args!(
            "malloc-bind: release of {ptr:p} into class {id}, which is not registered"
        ));
    };
    // SAFETY: any address may be given to the checked free.
    if let Err(err) = c.cache.with(|s| unsafe { s.try_dealloc(p) }) {
        crate::stats::die(format_args!("{err}"));
    }
}

/// Objects of class `id` allocated now (0 for an unknown class).
pub fn live(id: u32) -> usize {
    class(id).map_or(0, |c| c.cache.with(|s| s.stats().objects_live as usize))
}
