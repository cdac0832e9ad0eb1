//! The macros that export the C API under its C names.

/// Exports the complete C allocation API (`malloc`, `free`, `calloc`,
/// `realloc`, `reallocarray`, `posix_memalign`, `aligned_alloc`,
/// `memalign`, `valloc`, `pvalloc`, `malloc_usable_size`, `free_sized`,
/// `free_aligned_sized`, `cfree`, `malloc_trim`, `malloc_stats`) over the
/// [`Backend`](crate::Backend) in the `static` named by the first argument,
/// for a `cdylib` (or `staticlib`) that replaces a process's `malloc`.
///
/// It also registers `fork` handlers (the backend's locks are taken before
/// a `fork` and released in both processes after it), and when the
/// environment variable named by the second argument is set (to anything
/// but `0`) at load time, the backend's statistics are written to stderr
/// when the process exits, without allocating (to a copy of stderr made at
/// load time, since some programs close stderr before they exit).
///
/// The crate using it must not make its own `malloc` Rust's global
/// allocator: the builds in `examples/` use `bsalloc`.
///
/// A program that exports it replaces its own `malloc` (here the zone
/// serves even the C library's calls):
///
/// ```
/// #[global_allocator]
/// static RUST_HEAP: bsalloc::BsAlloc = bsalloc::BsAlloc::new();
///
/// static ZONE: malloc_bind::SlabMalloc = malloc_bind::SlabMalloc::new();
/// malloc_bind::export_malloc!(ZONE, "SLABMALLOC_SHOW_STATS");
///
/// fn main() {
///     // SAFETY: C calls on a block we own, freed once.
///     unsafe {
///         let p = libc::malloc(100);
///         assert_eq!(libc::malloc_usable_size(p), 112); // the zone's class
///         let q = libc::strdup(c"from the C library".as_ptr());
///         assert!(ZONE.usable_size(q.cast()).is_ok());
///         libc::free(q.cast());
///         libc::free(p);
///     }
/// }
/// ```
#[macro_export]
macro_rules! export_malloc {
    ($backend:path, $stats_env:literal) => {
        const _: () = {
            use ::core::ffi::c_void;
            use $crate::c;

            /// C `malloc`.
            #[unsafe(no_mangle)]
            pub extern "C" fn malloc(size: usize) -> *mut c_void {
                c::malloc(&$backend, size)
            }

            /// C `free`.
            ///
            /// # Safety
            /// C's rules for `free`.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn free(ptr: *mut c_void) {
                // SAFETY: C's contract.
                unsafe { c::free(&$backend, ptr) }
            }

            /// glibc's `cfree`, an old name of `free`.
            ///
            /// # Safety
            /// C's rules for `free`.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn cfree(ptr: *mut c_void) {
                // SAFETY: C's contract.
                unsafe { c::free(&$backend, ptr) }
            }

            /// C `calloc`.
            #[unsafe(no_mangle)]
            pub extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
                c::calloc(&$backend, n, size)
            }

            /// C `realloc`.
            ///
            /// # Safety
            /// C's rules for `realloc`.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
                // SAFETY: C's contract.
                unsafe { c::realloc(&$backend, ptr, size) }
            }

            /// POSIX `reallocarray`.
            ///
            /// # Safety
            /// C's rules for `realloc`.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn reallocarray(
                ptr: *mut c_void,
                n: usize,
                size: usize,
            ) -> *mut c_void {
                // SAFETY: C's contract.
                unsafe { c::reallocarray(&$backend, ptr, n, size) }
            }

            /// POSIX `posix_memalign`.
            ///
            /// # Safety
            /// `memptr` is writable.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn posix_memalign(
                memptr: *mut *mut c_void,
                align: usize,
                size: usize,
            ) -> i32 {
                // SAFETY: C's contract.
                unsafe { c::posix_memalign(&$backend, memptr, align, size) }
            }

            /// C11 `aligned_alloc`.
            #[unsafe(no_mangle)]
            pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
                c::aligned_alloc(&$backend, align, size)
            }

            /// glibc `memalign`.
            #[unsafe(no_mangle)]
            pub extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
                c::memalign(&$backend, align, size)
            }

            /// `valloc`.
            #[unsafe(no_mangle)]
            pub extern "C" fn valloc(size: usize) -> *mut c_void {
                c::valloc(&$backend, size)
            }

            /// glibc `pvalloc`.
            #[unsafe(no_mangle)]
            pub extern "C" fn pvalloc(size: usize) -> *mut c_void {
                c::pvalloc(&$backend, size)
            }

            /// glibc `malloc_usable_size`.
            ///
            /// # Safety
            /// `ptr` is null or a live block.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn malloc_usable_size(ptr: *mut c_void) -> usize {
                // SAFETY: C's contract.
                unsafe { c::malloc_usable_size(&$backend, ptr) }
            }

            /// C23 `free_sized`.
            ///
            /// # Safety
            /// C's rules for `free`.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn free_sized(ptr: *mut c_void, size: usize) {
                // SAFETY: C's contract.
                unsafe { c::free_sized(&$backend, ptr, size) }
            }

            /// C23 `free_aligned_sized`.
            ///
            /// # Safety
            /// C's rules for `free`.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn free_aligned_sized(
                ptr: *mut c_void,
                align: usize,
                size: usize,
            ) {
                // SAFETY: C's contract.
                unsafe { c::free_aligned_sized(&$backend, ptr, align, size) }
            }

            /// glibc `malloc_trim`.
            #[unsafe(no_mangle)]
            pub extern "C" fn malloc_trim(pad: usize) -> i32 {
                c::malloc_trim(&$backend, pad)
            }

            /// glibc `malloc_stats`.
            #[unsafe(no_mangle)]
            pub extern "C" fn malloc_stats() {
                c::malloc_stats(&$backend)
            }

            extern "C" fn prepare() {
                $crate::Backend::prepare_fork(&$backend);
            }

            extern "C" fn after() {
                // SAFETY: runs after this thread's `prepare`, in the parent
                // and in the child.
                unsafe { $crate::Backend::after_fork(&$backend) };
            }

            extern "C" fn show_stats_at_exit() {
                if let Some(fd) = $crate::export::stats_fd() {
                    $crate::stats::print_to(fd, &$backend);
                }
            }

            extern "C" fn init() {
                $crate::export::init($stats_env, prepare, after);
            }

            #[used]
            #[unsafe(link_section = ".init_array")]
            static INIT: extern "C" fn() = init;

            #[used]
            #[unsafe(link_section = ".fini_array")]
            static FINI: extern "C" fn() = show_stats_at_exit;
        };
    };
}

/// Exports the class API of [`classes`](crate::classes) as
/// `slab_class_register`, `slab_class_alloc`, `slab_class_free` and
/// `slab_class_live` (see `include/malloc_bind.h`).
#[macro_export]
macro_rules! export_class_api {
    () => {
        const _: () = {
            use ::core::ffi::{c_char, c_int, c_void};
            use $crate::classes;

            /// Registers a class; its id, or -1 with `errno` set.
            ///
            /// # Safety
            /// `name` is a NUL-terminated string.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn slab_class_register(
                name: *const c_char,
                size: usize,
                align: usize,
                zeroed: c_int,
            ) -> c_int {
                if name.is_null() {
                    $crate::export::fail(::libc::EINVAL);
                    return -1;
                }
                // SAFETY: the caller's NUL-terminated string.
                let name = unsafe { ::core::ffi::CStr::from_ptr(name) };
                match classes::register(name, size, align, zeroed != 0) {
                    Ok(id) => id as c_int,
                    Err(e) => {
                        $crate::export::fail(e.errno());
                        -1
                    }
                }
            }

            /// An object of the class, or NULL with `errno` set.
            #[unsafe(no_mangle)]
            pub extern "C" fn slab_class_alloc(class: c_int) -> *mut c_void {
                classes::alloc(class as u32)
            }

            /// Releases an object into its class; the wrong class aborts.
            ///
            /// # Safety
            /// `ptr` is not used afterwards.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn slab_class_free(class: c_int, ptr: *mut c_void) {
                // SAFETY: the caller's contract.
                unsafe { classes::release(class as u32, ptr) }
            }

            /// Objects of the class allocated now.
            #[unsafe(no_mangle)]
            pub extern "C" fn slab_class_live(class: c_int) -> usize {
                classes::live(class as u32)
            }
        };
    };
}

use core::sync::atomic::{AtomicI32, Ordering};

/// Where the statistics go at exit: a copy of stderr made at load time
/// (programs such as coreutils close stderr before they exit), or -1 when
/// they were not asked for.
static STATS_FD: AtomicI32 = AtomicI32::new(-1);

/// The descriptor the exit statistics go to, if they were asked for.
#[doc(hidden)]
pub fn stats_fd() -> Option<i32> {
    let fd = STATS_FD.load(Ordering::Relaxed);
    (fd >= 0).then_some(fd)
}

/// Sets `errno` (for the exported functions).
#[doc(hidden)]
pub fn fail(code: i32) {
    crate::set_errno(code);
}

/// Load-time set-up of an exported `malloc`: reads the statistics variable
/// and registers the `fork` handlers.
#[doc(hidden)]
pub fn init(stats_env: &str, prepare: extern "C" fn(), after: extern "C" fn()) {
    let mut name = [0u8; 64];
    let n = stats_env.len().min(name.len() - 1);
    name[..n].copy_from_slice(&stats_env.as_bytes()[..n]);
    // SAFETY: `name` is NUL-terminated; `getenv` returns null or a string
    // that lives as long as the environment.
    let value = unsafe { libc::getenv(name.as_ptr().cast()) };
    if !value.is_null() {
        // SAFETY: a NUL-terminated string from the environment.
        let v = unsafe { core::ffi::CStr::from_ptr(value) }.to_bytes();
        if !v.is_empty() && v != b"0" {
            // SAFETY: duplicating a descriptor has no memory-safety
            // preconditions; a failure (-1) leaves the statistics off.
            // Close-on-exec, so a program the process executes does not
            // inherit it.
            let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
            STATS_FD.store(fd, Ordering::Relaxed);
        }
    }
    // SAFETY: the handlers are `extern "C" fn()`s that live as long as the
    // library (it is never unloaded while the process forks).
    unsafe { libc::pthread_atfork(Some(prepare), Some(after), Some(after)) };
}
