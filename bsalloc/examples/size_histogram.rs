//! The measurement behind bsalloc's two size classes: which sizes the
//! machinery an allocator leans on (thread spawn and join, thread-locals with
//! destructors, crossbeam-epoch pinning and deferred frees, growing `Vec`s
//! and `String`s) asks the global allocator for.
//!
//! ```sh
//! cargo run --release -p bsalloc --example size_histogram
//! ```
//!
//! A recording global allocator (over the system heap) counts every
//! allocation by size and alignment; each workload runs with the counters
//! reset, and prints the sizes it asked for and the share of its requests
//! that 64 B, 256 B, 1 KiB, 2 KiB and 4 KiB blocks would serve.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use crossbeam_epoch::{self as epoch, Owned};

/// Sizes up to this many bytes are counted exactly; larger ones in one bin.
const EXACT: usize = 16 << 10;

/// The recording allocator: counts, then forwards to the system heap.
struct Recording;

static RECORDING: AtomicBool = AtomicBool::new(false);
static BY_SIZE: [AtomicUsize; EXACT + 2] = [const { AtomicUsize::new(0) }; EXACT + 2];
/// The largest alignment seen for each size.
static ALIGN: [AtomicUsize; EXACT + 2] = [const { AtomicUsize::new(0) }; EXACT + 2];

impl Recording {
    fn record(layout: Layout) {
        if RECORDING.load(Ordering::Relaxed) {
            let bin = layout.size().min(EXACT + 1);
            BY_SIZE[bin].fetch_add(1, Ordering::Relaxed);
            ALIGN[bin].fetch_max(layout.align(), Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::record(layout);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::record(layout);
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if let Ok(new) = Layout::from_size_align(new_size, layout.align()) {
            Self::record(new);
        }
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

/// Runs `work` with fresh counters and prints what it allocated.
fn measure(name: &str, work: impl FnOnce()) {
    for (count, align) in BY_SIZE.iter().zip(&ALIGN) {
        count.store(0, Ordering::Relaxed);
        align.store(0, Ordering::Relaxed);
    }
    RECORDING.store(true, Ordering::SeqCst);
    work();
    RECORDING.store(false, Ordering::SeqCst);

    let counts: Vec<(usize, usize, usize)> = BY_SIZE
        .iter()
        .zip(&ALIGN)
        .enumerate()
        .map(|(size, (n, a))| (size, n.load(Ordering::Relaxed), a.load(Ordering::Relaxed)))
        .filter(|&(_, n, _)| n > 0)
        .collect();
    let total: usize = counts.iter().map(|&(_, n, _)| n).sum();
    println!("== {name}: {total} allocations");
    let sizes: Vec<String> = counts
        .iter()
        .map(|&(size, n, align)| {
            let size = if size > EXACT {
                format!(">{EXACT}")
            } else {
                size.to_string()
            };
            if align > 16 {
                format!("{size} B (align {align}) x{n}")
            } else {
                format!("{size} B x{n}")
            }
        })
        .collect();
    println!("   sizes: {}", sizes.join(", "));
    let served = |limit: usize| -> f64 {
        let n: usize = counts
            .iter()
            .filter(|&&(size, _, align)| size.max(align) <= limit)
            .map(|&(_, n, _)| n)
            .sum();
        100.0 * n as f64 / total.max(1) as f64
    };
    println!(
        "   served by a block of   64 B: {:5.1}%   256 B: {:5.1}%   1 KiB: {:5.1}%   2 KiB: {:5.1}%   4 KiB: {:5.1}%",
        served(64),
        served(256),
        served(1024),
        served(2048),
        served(4096)
    );
}

struct Noisy(Vec<u8>);

impl Drop for Noisy {
    fn drop(&mut self) {
        std::hint::black_box(&self.0);
    }
}

thread_local! {
    static SCRATCH: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    static NOISY: RefCell<Option<Noisy>> = const { RefCell::new(None) };
}

fn main() {
    const THREADS: usize = 64;

    measure("thread spawn + join", || {
        for _ in 0..THREADS {
            thread::spawn(|| std::hint::black_box(1)).join().unwrap();
        }
    });

    measure("named threads (Builder) + scoped threads", || {
        for i in 0..THREADS {
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(|| ())
                .unwrap()
                .join()
                .unwrap();
        }
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| ());
            }
        });
    });

    measure("thread-locals with destructors (per thread)", || {
        for _ in 0..THREADS {
            thread::spawn(|| {
                SCRATCH.with(|s| s.borrow_mut().push(1));
                NOISY.with(|n| *n.borrow_mut() = Some(Noisy(vec![0; 24])));
            })
            .join()
            .unwrap();
        }
    });

    measure("crossbeam-epoch: register, pin, defer, flush", || {
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for i in 0..2_000u64 {
                        let guard = epoch::pin();
                        let node = Owned::new([i; 4]).into_shared(&guard);
                        // SAFETY: `node` was never shared with anyone else.
                        unsafe { guard.defer_destroy(node) };
                        if i % 256 == 0 {
                            guard.flush();
                        }
                    }
                });
            }
        });
    });

    measure("crossbeam-epoch: a new collector and its handles", || {
        let collector = epoch::Collector::new();
        thread::scope(|s| {
            for _ in 0..8 {
                let collector = &collector;
                s.spawn(move || {
                    let handle = collector.register();
                    let guard = handle.pin();
                    guard.defer(|| ());
                    guard.flush();
                });
            }
        });
    });

    measure("Vec<u64> and String growth to 4 KiB", || {
        let mut v: Vec<u64> = Vec::new();
        for i in 0..512 {
            v.push(i);
        }
        let mut s = String::new();
        for _ in 0..256 {
            s.push_str("0123456789abcdef");
        }
        std::hint::black_box((v, s));
    });
}
