//! The proof that `BsAlloc` never calls the C allocator.
//!
//! This binary's global allocator is `BsAlloc`. Run by `cargo test`, it is
//! the *parent*: it compiles a small C shim into a shared library, whose
//! `malloc`, `free`, `calloc`, `realloc`, `reallocarray`, `posix_memalign`,
//! `aligned_alloc`, `memalign`, `valloc` and `pvalloc` abort the process
//! when called on an *armed* thread (and forward to glibc otherwise), and
//! runs itself again as a *child* with the shim in `LD_PRELOAD`.
//!
//! The child arms its main thread as the first thing `main` does (the
//! binary has no Rust runtime start-up, so nothing has allocated yet: the
//! child checks that no class block was ever carved), then runs every path
//! of the allocator: first use of each class and the page size, both
//! classes, carving, reuse, a used-up class falling through to the next
//! home and to mappings, freeing from every home, mappings with every kind
//! of alignment, `mremap` growth and shrinking, resizing across homes,
//! zeroed blocks, zero sizes, refused requests, and collections growing.
//! Then eight threads, each armed for its whole body, allocate, trade
//! blocks and free each other's.
//!
//! Arming is per thread because making and reaping a thread uses glibc's
//! allocator by design, outside `BsAlloc`: `std` allocates every `Thread`
//! handle with `System` (glibc's `malloc`) so that global allocators may
//! call `thread::current()`, and glibc's `pthread_create` allocates the new
//! thread's dynamic thread vector with `calloc` (both were seen aborting in
//! this shim when the spawning thread was armed). So the main thread is
//! disarmed exactly while it spawns and joins, and each worker is armed
//! from the first line of its body to the last: every call into `BsAlloc`
//! in the exercise runs armed.
//!
//! Two control runs prove the shim works: a child that calls `malloc` on
//! its armed main thread, and one that calls `calloc` on an armed spawned
//! thread, must both die of `SIGABRT` with the shim's message. And the
//! exercise run without the shim must refuse to pass.
#![cfg_attr(not(miri), no_main)]
// Under Miri only the stub `main` is built; the shim, child and parent are not.
#![cfg_attr(miri, allow(dead_code, unused_imports))]

use core::ffi::{CStr, c_char, c_int};

use bsalloc::BsAlloc;

#[global_allocator]
static GLOBAL: BsAlloc = BsAlloc::new();

/// The variable that makes this binary a child, and says which.
const MODE_VAR: &CStr = c"BSALLOC_NO_MALLOC";
/// What the shim writes to stderr before it aborts.
const SHIM_MESSAGE: &str = "called on an armed thread";
/// The child's exit status when it was not preloaded with the shim.
const NO_SHIM: c_int = 3;
/// The child's exit status when a check failed.
const CHECK_FAILED: c_int = 2;

#[cfg(miri)]
fn main() {
    println!("no_malloc: skipped under Miri (it compiles C and runs child processes)");
}

#[cfg(not(miri))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // SAFETY: a NUL-terminated name; `getenv` reads the environment in place
    // without allocating.
    let mode = unsafe { libc::getenv(MODE_VAR.as_ptr()) };
    if mode.is_null() {
        return match std::panic::catch_unwind(parent::run) {
            Ok(()) => 0,
            Err(_) => 101,
        };
    }
    // SAFETY: `getenv` returned a NUL-terminated string that lives as long
    // as the environment is not changed, which this process never does.
    let mode = unsafe { CStr::from_ptr(mode) };
    child::run(mode.to_bytes())
}

/// The two functions the shim exports, found with `dlsym`.
#[derive(Clone, Copy)]
struct Shim {
    arm: unsafe extern "C" fn(),
    disarm: unsafe extern "C" fn(),
}

impl Shim {
    /// The shim's functions, or `None` when the process was not preloaded
    /// with it.
    fn find() -> Option<Shim> {
        // SAFETY: `dlsym` with the default handle and NUL-terminated names.
        let (arm, disarm) = unsafe {
            (
                libc::dlsym(libc::RTLD_DEFAULT, c"bsalloc_shim_arm".as_ptr()),
                libc::dlsym(libc::RTLD_DEFAULT, c"bsalloc_shim_disarm".as_ptr()),
            )
        };
        if arm.is_null() || disarm.is_null() {
            return None;
        }
        // SAFETY: both symbols are the shim's `void f(void)` functions.
        unsafe {
            Some(Shim {
                arm: core::mem::transmute::<*mut libc::c_void, unsafe extern "C" fn()>(arm),
                disarm: core::mem::transmute::<*mut libc::c_void, unsafe extern "C" fn()>(disarm),
            })
        }
    }

    /// From now on, any malloc-family call on this thread aborts.
    fn arm(self) {
        // SAFETY: the shim's arm function sets a thread-local flag.
        unsafe { (self.arm)() }
    }

    /// Lets this thread call the malloc family again.
    fn disarm(self) {
        // SAFETY: the shim's disarm function clears a thread-local flag.
        unsafe { (self.disarm)() }
    }
}

/// Writes `msg` to stderr with `write(2)`, which never allocates.
fn say(msg: &str) {
    // SAFETY: `msg` is valid for `msg.len()` bytes.
    let _ = unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

#[cfg(not(miri))]
mod child {
    //! The child: every allocator path, armed.

    use core::alloc::{GlobalAlloc, Layout};
    use core::fmt::Write as _;
    use core::ptr::NonNull;
    use std::sync::{Barrier, Mutex};
    use std::thread;

    use allocator_api2::alloc::Allocator;
    use bsalloc::BsAlloc;

    use super::{CHECK_FAILED, GLOBAL, NO_SHIM, Shim, say};

    pub(super) fn run(mode: &[u8]) -> i32 {
        let Some(shim) = Shim::find() else {
            say("no_malloc child: the shim is not preloaded, nothing would be checked\n");
            return NO_SHIM;
        };
        match mode {
            b"exercise" => exercise(shim),
            b"control-malloc" => control_malloc(shim),
            b"control-thread" => control_thread(shim),
            _ => {
                say("no_malloc child: unknown mode\n");
                CHECK_FAILED
            }
        }
    }

    /// Stops the child with a message, without allocating or unwinding.
    fn fail(shim: Shim, msg: &str) -> ! {
        shim.disarm();
        say("no_malloc child: check failed: ");
        say(msg);
        say("\n");
        // SAFETY: `_exit` ends the process at once; nothing is left to run.
        unsafe { libc::_exit(CHECK_FAILED) }
    }

    fn ensure(shim: Shim, ok: bool, msg: &str) {
        if !ok {
            fail(shim, msg);
        }
    }

    /// A fixed buffer to format into without allocating.
    struct Text {
        bytes: [u8; 128],
        len: usize,
    }

    impl core::fmt::Write for Text {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.len + s.len();
            if end > self.bytes.len() {
                return Err(core::fmt::Error);
            }
            self.bytes[self.len..end].copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn debug_of(heap: &BsAlloc) -> Text {
        let mut text = Text {
            bytes: [0; 128],
            len: 0,
        };
        let _ = write!(text, "{heap:?}");
        text
    }

    fn exercise(shim: Shim) -> i32 {
        shim.arm();
        say("no_malloc child: main thread armed\n");
        let fresh = debug_of(&GLOBAL);
        ensure(
            shim,
            &fresh.bytes[..fresh.len] == b"BsAlloc { small_carved: 0, large_carved: 0 }",
            "a block was allocated before main armed the shim",
        );

        collections(shim);
        homes(shim);
        used_up_classes(shim);
        mappings(shim);
        resizing(shim);
        zero_and_refused(shim);
        say("no_malloc child: single-threaded paths done\n");

        // Spawning and joining use glibc's allocator (std's `Thread`
        // handles, pthread_create's thread vector): the main thread is
        // disarmed exactly around them; the workers arm themselves.
        shim.disarm();
        threads(shim);
        shim.arm();
        // Blocks the workers freed are reused here.
        collections(shim);
        shim.disarm();

        say("no_malloc child: every path ran armed\n");
        0
    }

    /// Standard collections on the global allocator: small and large
    /// classes, a mapping, and `realloc` through every home as they grow.
    fn collections(shim: Shim) {
        let boxed = Box::new(7u8);
        let mut v: Vec<u64> = Vec::new();
        for i in 0..200_000 {
            v.push(i);
        }
        let mut s = String::new();
        for _ in 0..300 {
            s.push_str("bootstrap ");
        }
        let words: Vec<String> = s.split(' ').map(str::to_owned).collect();
        ensure(shim, *boxed == 7, "a box lost its value");
        ensure(
            shim,
            v.iter().sum::<u64>() == 199_999 * 100_000,
            "a vector lost its values",
        );
        ensure(shim, words.len() == 301, "a string lost its words");
        v.truncate(10);
        v.shrink_to_fit();
        ensure(
            shim,
            v == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            "shrinking a vector lost values",
        );
    }

    /// Allocates, fills, checks and frees `n` blocks of `layout`.
    fn round_trip(shim: Shim, layout: Layout, n: usize) {
        let mut blocks = Vec::with_capacity(n);
        for i in 0..n {
            // SAFETY: non-zero layouts only.
            let p = unsafe { GLOBAL.alloc(layout) };
            ensure(shim, !p.is_null(), "an allocation failed");
            ensure(
                shim,
                p.addr() % layout.align() == 0,
                "a block is misaligned",
            );
            // SAFETY: `layout.size()` writable bytes.
            unsafe { p.write_bytes(i as u8, layout.size()) };
            blocks.push(p);
        }
        for (i, p) in blocks.into_iter().enumerate() {
            // SAFETY: the block is live and was filled above.
            let last = unsafe { p.add(layout.size() - 1).read() };
            ensure(shim, last == i as u8, "a block was overwritten");
            // SAFETY: allocated with `layout`, freed once.
            unsafe { GLOBAL.dealloc(p, layout) };
        }
    }

    /// Both classes (carving, then reuse) and zeroed blocks from each home.
    fn homes(shim: Shim) {
        for (size, align) in [
            (1, 1),
            (48, 16),
            (64, 64),
            (65, 8),
            (2304, 128),
            (4096, 4096),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            round_trip(shim, layout, 500);
            round_trip(shim, layout, 500);
        }
        for size in [16, 1000, 100_000] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: non-zero layout; dirtied, then freed once.
            unsafe {
                let p = GLOBAL.alloc(layout);
                p.write_bytes(0xff, size);
                GLOBAL.dealloc(p, layout);
            }
            // SAFETY: non-zero layout.
            let p = unsafe { GLOBAL.alloc_zeroed(layout) };
            // SAFETY: `size` readable bytes.
            let zero = unsafe { core::slice::from_raw_parts(p, size) }
                .iter()
                .all(|&b| b == 0);
            ensure(shim, zero, "a zeroed block is not zero");
            // SAFETY: allocated with `layout`, freed once.
            unsafe { GLOBAL.dealloc(p, layout) };
        }
    }

    /// Uses up the small class, then the large one, so that requests fall
    /// through to the next home and to mappings, then frees every block to
    /// where it came from, and takes the arenas again from the free stacks.
    fn used_up_classes(shim: Shim) {
        let small = Layout::from_size_align(BsAlloc::SMALL_SIZE, 8).unwrap();
        let large = Layout::from_size_align(BsAlloc::LARGE_SIZE, 8).unwrap();
        for _ in 0..2 {
            let mut held: Vec<(*mut u8, Layout)> = Vec::new();
            for (layout, n) in [
                (small, BsAlloc::SMALL_BLOCKS + 8),
                (large, BsAlloc::LARGE_BLOCKS + 8),
                (small, 8),
            ] {
                for _ in 0..n {
                    // SAFETY: non-zero layouts.
                    let p = unsafe { GLOBAL.alloc(layout) };
                    ensure(
                        shim,
                        !p.is_null(),
                        "an allocation from a used-up class failed",
                    );
                    // SAFETY: `layout.size()` writable bytes.
                    unsafe { p.write_bytes(0x11, layout.size()) };
                    held.push((p, layout));
                }
            }
            for (p, layout) in held {
                // SAFETY: allocated with `layout`, freed once.
                unsafe { GLOBAL.dealloc(p, layout) };
            }
        }
    }

    /// Mappings: plain, page-aligned and over-aligned, grown and shrunk
    /// with `realloc` (`mremap` for the plain ones).
    fn mappings(shim: Shim) {
        for align in [8, 4096, 1 << 16, 1 << 20] {
            let mut layout = Layout::from_size_align(5000, align).unwrap();
            // SAFETY: non-zero layout.
            let mut p = unsafe { GLOBAL.alloc(layout) };
            ensure(
                shim,
                !p.is_null() && p.addr() % align == 0,
                "a mapping is misaligned",
            );
            // SAFETY: 5000 writable bytes.
            unsafe { p.write_bytes(0x42, 5000) };
            for size in [100_000, 3 << 20, 6000, 70_000] {
                // SAFETY: a live block of `layout`.
                p = unsafe { GLOBAL.realloc(p, layout, size) };
                ensure(
                    shim,
                    !p.is_null() && p.addr() % align == 0,
                    "a resized mapping is misaligned",
                );
                // SAFETY: at least 5000 bytes, kept from the start.
                let kept = unsafe { p.add(4999).read() };
                ensure(shim, kept == 0x42, "a resized mapping lost its contents");
                layout = Layout::from_size_align(size, align).unwrap();
            }
            // SAFETY: allocated (last resized) with `layout`, freed once.
            unsafe { GLOBAL.dealloc(p, layout) };
        }
    }

    /// `realloc` and `grow`/`shrink` across every home, both ways.
    fn resizing(shim: Shim) {
        let mut layout = Layout::from_size_align(1, 1).unwrap();
        // SAFETY: non-zero layout.
        let mut p = unsafe { GLOBAL.alloc(layout) };
        // SAFETY: one writable byte.
        unsafe { p.write(0x5a) };
        for size in [64, 65, 4096, 4097, 1 << 20, 100, 10, 200_000, 3000, 1] {
            // SAFETY: a live block of `layout`.
            p = unsafe { GLOBAL.realloc(p, layout, size) };
            // SAFETY: the first byte is always kept.
            ensure(
                shim,
                !p.is_null() && unsafe { p.read() } == 0x5a,
                "realloc lost the first byte",
            );
            layout = Layout::from_size_align(size, 1).unwrap();
        }
        // SAFETY: allocated (last resized) with `layout`, freed once.
        unsafe { GLOBAL.dealloc(p, layout) };

        let heap = &GLOBAL;
        let old = Layout::from_size_align(40, 8).unwrap();
        let new = Layout::from_size_align(9000, 4096).unwrap();
        let block = heap.allocate(old).unwrap().cast::<u8>();
        // SAFETY: a live block, growing with a new alignment, zeroed.
        let grown = unsafe { heap.grow_zeroed(block, old, new) }.unwrap();
        // SAFETY: a live block of `new`, shrinking.
        let shrunk = unsafe { heap.shrink(grown.cast(), new, old) }.unwrap();
        // SAFETY: allocated (last resized) with `old`, freed once.
        unsafe { heap.deallocate(shrunk.cast(), old) };
    }

    /// Zero-size blocks and requests the kernel refuses.
    fn zero_and_refused(shim: Shim) {
        let heap = &GLOBAL;
        let zero = Layout::from_size_align(0, 64).unwrap();
        let empty = heap.allocate(zero).unwrap();
        ensure(shim, empty.is_empty(), "a zero-size block has a length");
        // SAFETY: freeing a zero-size block does nothing.
        unsafe { heap.deallocate(empty.cast(), zero) };

        let huge = Layout::from_size_align(isize::MAX as usize - 4096, 8).unwrap();
        // SAFETY: non-zero layout.
        ensure(
            shim,
            unsafe { GLOBAL.alloc(huge) }.is_null(),
            "a huge request succeeded",
        );
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: non-zero layout; the refused resize leaves it live.
        unsafe {
            let p = GLOBAL.alloc(layout);
            ensure(
                shim,
                GLOBAL.realloc(p, layout, huge.size()).is_null(),
                "a huge resize succeeded",
            );
            GLOBAL.dealloc(p, layout);
        }
    }

    /// A block on its way to the thread that frees it.
    struct Block {
        ptr: NonNull<u8>,
        layout: Layout,
        seed: u8,
    }

    // SAFETY: a `Block` owns its memory alone; the heap frees blocks from
    // any thread.
    unsafe impl Send for Block {}

    fn free_checked(shim: Shim, block: Block) {
        let size = block.layout.size();
        // SAFETY: the block is live and was filled with its seed.
        let (first, last) = unsafe { (block.ptr.read(), block.ptr.add(size - 1).read()) };
        ensure(
            shim,
            first == block.seed && last == block.seed,
            "a traded block was overwritten",
        );
        // SAFETY: allocated with `layout`, freed once.
        unsafe { GLOBAL.dealloc(block.ptr.as_ptr(), block.layout) };
    }

    /// Eight armed threads allocate from every home and free each other's
    /// blocks.
    fn threads(shim: Shim) {
        const THREADS: usize = 8;
        let mailboxes: Vec<Mutex<Vec<Block>>> =
            (0..THREADS).map(|_| Mutex::new(Vec::new())).collect();
        let done = Barrier::new(THREADS);
        thread::scope(|s| {
            for me in 0..THREADS {
                let (mailboxes, done) = (&mailboxes, &done);
                s.spawn(move || {
                    shim.arm();
                    let mut rng = (me as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    let mut mine = Vec::new();
                    for op in 0..4000 {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let size = match rng % 100 {
                            0..60 => 1 + (rng >> 8) as usize % 64,
                            60..97 => 65 + (rng >> 8) as usize % 4032,
                            _ => 4097 + (rng >> 8) as usize % 200_000,
                        };
                        let layout = Layout::from_size_align(size, 8).unwrap();
                        // SAFETY: non-zero layout.
                        let ptr = NonNull::new(unsafe { GLOBAL.alloc(layout) })
                            .unwrap_or_else(|| fail(shim, "a worker's allocation failed"));
                        let seed = (me * 31 + op) as u8;
                        // SAFETY: `size` writable bytes.
                        unsafe { ptr.as_ptr().write_bytes(seed, size) };
                        let block = Block { ptr, layout, seed };
                        if op % 2 == 0 {
                            let to = (me + 1 + op % (THREADS - 1)) % THREADS;
                            mailboxes[to].lock().unwrap().push(block);
                        } else {
                            mine.push(block);
                        }
                        if mine.len() > 32 {
                            free_checked(shim, mine.swap_remove(0));
                        }
                        if op % 64 == 0 {
                            let traded = core::mem::take(&mut *mailboxes[me].lock().unwrap());
                            for block in traded {
                                free_checked(shim, block);
                            }
                        }
                    }
                    done.wait();
                    let traded = core::mem::take(&mut *mailboxes[me].lock().unwrap());
                    for block in traded.into_iter().chain(mine) {
                        free_checked(shim, block);
                    }
                    shim.disarm();
                });
            }
        });
        say("no_malloc child: eight armed threads traded and freed blocks\n");
    }

    /// The shim must catch a `malloc` on the armed main thread.
    fn control_malloc(shim: Shim) -> i32 {
        shim.arm();
        say("no_malloc child: calling malloc while armed\n");
        #[expect(
            clippy::disallowed_methods,
            reason = "the control run calls malloc on purpose"
        )]
        // SAFETY: `malloc` has no preconditions; the shim aborts before it
        // returns.
        let p = unsafe { libc::malloc(16) };
        fail(shim, &format!("malloc returned {p:p} on an armed thread"));
    }

    /// The shim must catch a `calloc` on an armed spawned thread.
    fn control_thread(shim: Shim) -> i32 {
        thread::spawn(move || {
            shim.arm();
            say("no_malloc child: calling calloc on an armed spawned thread\n");
            #[expect(
                clippy::disallowed_methods,
                reason = "the control run calls calloc on purpose"
            )]
            // SAFETY: `calloc` has no preconditions; the shim aborts before
            // it returns.
            let p = unsafe { libc::calloc(1, 16) };
            fail(shim, &format!("calloc returned {p:p} on an armed thread"));
        })
        .join()
        .ok();
        CHECK_FAILED
    }
}

#[cfg(not(miri))]
mod parent {
    //! The parent: builds the shim and judges the children.

    use std::os::unix::process::ExitStatusExt as _;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use super::{MODE_VAR, NO_SHIM, SHIM_MESSAGE};

    const SHIM_SOURCE: &str = r#"
/* A malloc family that aborts on armed threads and forwards to glibc on
   the others. Built and preloaded by bsalloc's no_malloc test. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);

/* Initial-exec: the flag lives in static TLS, so reading it never calls
   __tls_get_addr (which may itself allocate). */
static __thread int armed __attribute__((tls_model("initial-exec")));

void bsalloc_shim_arm(void) { armed = 1; }
void bsalloc_shim_disarm(void) { armed = 0; }

static void trap(const char *name) {
    if (!armed)
        return;
    static const char head[] = "bsalloc-shim: ";
    static const char tail[] = " MESSAGE\n";
    size_t len = 0;
    while (name[len])
        len++;
    (void)!write(2, head, sizeof head - 1);
    (void)!write(2, name, len);
    (void)!write(2, tail, sizeof tail - 1);
    abort();
}

void *malloc(size_t n) { trap("malloc"); return __libc_malloc(n); }
void free(void *p) { trap("free"); __libc_free(p); }
void *calloc(size_t n, size_t m) { trap("calloc"); return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { trap("realloc"); return __libc_realloc(p, n); }
void *reallocarray(void *p, size_t n, size_t m) {
    trap("reallocarray");
    size_t len;
    if (__builtin_mul_overflow(n, m, &len)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(p, len);
}
void *memalign(size_t align, size_t n) { trap("memalign"); return __libc_memalign(align, n); }
void *aligned_alloc(size_t align, size_t n) { trap("aligned_alloc"); return __libc_memalign(align, n); }
int posix_memalign(void **out, size_t align, size_t n) {
    trap("posix_memalign");
    if (align == 0 || (align & (align - 1)) != 0 || align % sizeof(void *) != 0)
        return EINVAL;
    void *p = __libc_memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}
void *valloc(size_t n) { trap("valloc"); return __libc_valloc(n); }
void *pvalloc(size_t n) { trap("pvalloc"); return __libc_pvalloc(n); }
"#;

    /// Compiles the shim with the system C compiler (`$CC`, else `cc`).
    fn build_shim() -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bsalloc-no-malloc");
        std::fs::create_dir_all(&dir).expect("create the shim's directory");
        let source = dir.join("shim.c");
        let library = dir.join("libbsalloc_shim.so");
        std::fs::write(&source, SHIM_SOURCE.replace("MESSAGE", SHIM_MESSAGE))
            .expect("write the shim's source");
        let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
        let status = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&library)
            .arg(&source)
            .status()
            .unwrap_or_else(|e| panic!("running the C compiler {cc:?}: {e}"));
        assert!(status.success(), "compiling the shim failed: {status}");
        library
    }

    fn child(mode: &str, shim: Option<&Path>) -> Output {
        let exe = std::env::current_exe().expect("this test's own path");
        let mut command = Command::new(exe);
        command.env(MODE_VAR.to_str().unwrap(), mode);
        command.env_remove("LD_PRELOAD");
        if let Some(shim) = shim {
            command.env("LD_PRELOAD", shim);
        }
        command.output().expect("run the child")
    }

    fn describe(output: &Output) -> String {
        format!(
            "status {:?}\n--- stdout\n{}--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    pub(super) fn run() {
        let shim = build_shim();

        let exercise = child("exercise", Some(&shim));
        let log = describe(&exercise);
        assert!(
            exercise.status.success(),
            "the armed exercise failed:\n{log}"
        );
        let stderr = String::from_utf8_lossy(&exercise.stderr);
        for line in [
            "main thread armed",
            "single-threaded paths done",
            "eight armed threads traded and freed blocks",
            "every path ran armed",
        ] {
            assert!(
                stderr.contains(line),
                "the exercise did not report {line:?}:\n{log}"
            );
        }
        println!("no_malloc: every allocator path ran with the C allocator armed to abort");

        for (mode, call) in [("control-malloc", "malloc"), ("control-thread", "calloc")] {
            let control = child(mode, Some(&shim));
            let log = describe(&control);
            assert_eq!(
                control.status.signal(),
                Some(libc::SIGABRT),
                "the {mode} run was not aborted:\n{log}"
            );
            let message = format!("bsalloc-shim: {call} {SHIM_MESSAGE}");
            assert!(
                String::from_utf8_lossy(&control.stderr).contains(&message),
                "the {mode} run did not die in the shim:\n{log}"
            );
            println!("no_malloc: the {mode} run died in the shim, as it must");
        }

        let unarmed = child("exercise", None);
        assert_eq!(
            unarmed.status.code(),
            Some(NO_SHIM),
            "the exercise must refuse to pass without the shim:\n{}",
            describe(&unarmed)
        );
        println!("no_malloc: the exercise refuses to run without the shim");
    }
}
