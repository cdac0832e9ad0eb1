//! The zone's workload shapes, shared by the criterion bench
//! (`benches/zone.rs`) and the workload program
//! (`examples/zone_workload.rs`). Each runs on any `GlobalAlloc`, called
//! directly (not as the binary's global allocator), so one binary compares
//! several allocators.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// A xorshift generator: cheap, and the same sequence for every allocator.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next number.
    #[inline]
    pub(crate) fn step(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A size from 8 to 512 bytes, uniform.
    #[inline]
    pub(crate) fn small(&mut self) -> usize {
        8 + (self.step() % 505) as usize
    }
}

#[inline]
fn layout(size: usize) -> Layout {
    // SAFETY: sizes are small and the alignment is a power of two.
    unsafe { Layout::from_size_align_unchecked(size, 8) }
}

/// The sizes the pair shape cycles through: 1,024 of them from 8 to 512.
pub(crate) fn pair_sizes() -> Vec<usize> {
    let mut rng = Rng::new(7);
    (0..1024).map(|_| rng.small()).collect()
}

/// One thread: allocate and free each size in turn, `rounds` times over
/// `sizes`, touching one byte of each block.
pub(crate) fn pairs<A: GlobalAlloc>(a: &A, sizes: &[usize], rounds: usize) {
    for _ in 0..rounds {
        for &size in sizes {
            let l = layout(size);
            // SAFETY: a non-zero layout; the block is freed once.
            unsafe {
                let p = a.alloc(l);
                assert!(!p.is_null());
                p.write_volatile(1);
                a.dealloc(p, l);
            }
        }
    }
}

/// `threads` threads, each keeping `live` blocks of 8 to 512 bytes and
/// replacing a random one `steps` times (writing its first and last byte),
/// then freeing them all. Thread-local: no block crosses threads.
pub(crate) fn churn<A: GlobalAlloc + Sync>(a: &A, threads: usize, live: usize, steps: usize) {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut rng = Rng::new(0x5eed + t as u64);
                    let mut slots: Vec<(*mut u8, usize)> = (0..live)
                        .map(|_| {
                            let size = rng.small();
                            // SAFETY: a non-zero layout.
                            (unsafe { a.alloc(layout(size)) }, size)
                        })
                        .collect();
                    for _ in 0..steps {
                        let i = (rng.step() % live as u64) as usize;
                        let size = rng.small();
                        // SAFETY: each block is freed once, and the new one
                        // is written within its size.
                        unsafe {
                            let (old, old_size) = slots[i];
                            a.dealloc(old, layout(old_size));
                            let p = a.alloc(layout(size));
                            assert!(!p.is_null());
                            p.write(1);
                            p.add(size - 1).write(2);
                            slots[i] = (p, size);
                        }
                    }
                    for (p, size) in slots {
                        // SAFETY: freed once.
                        unsafe { a.dealloc(p, layout(size)) };
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// A single-producer, single-consumer ring of block pointers.
struct Ring {
    slots: Vec<AtomicPtr<u8>>,
    head: AtomicUsize,
    tail: AtomicUsize,
}

/// One producer allocates `items` blocks of 8 to 512 bytes (writing their
/// size into them) and hands them through a ring of `ring` slots to a
/// consumer that checks and frees them: every free is cross-thread.
pub(crate) fn producer_consumer<A: GlobalAlloc + Sync>(a: &A, items: usize, ring: usize) {
    let q = Ring {
        slots: (0..ring)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect(),
        head: AtomicUsize::new(0),
        tail: AtomicUsize::new(0),
    };
    std::thread::scope(|s| {
        let q = &q;
        let producer = s.spawn(move || {
            let mut rng = Rng::new(11);
            for i in 0..items {
                let size = rng.small();
                // SAFETY: a non-zero layout; the block is written within
                // its size and handed to the consumer.
                let p = unsafe { a.alloc(layout(size)) };
                assert!(!p.is_null());
                // SAFETY: at least 8 bytes.
                unsafe { p.cast::<u16>().write_unaligned(size as u16) };
                while i - q.head.load(Ordering::Acquire) >= ring {
                    std::hint::spin_loop();
                    std::thread::yield_now();
                }
                q.slots[i % ring].store(p, Ordering::Relaxed);
                q.tail.store(i + 1, Ordering::Release);
            }
        });
        let consumer = s.spawn(move || {
            for i in 0..items {
                while q.tail.load(Ordering::Acquire) <= i {
                    std::hint::spin_loop();
                    std::thread::yield_now();
                }
                let p = q.slots[i % ring].load(Ordering::Relaxed);
                // SAFETY: the producer wrote the size into the block, which
                // is freed once with it.
                unsafe {
                    let size = p.cast::<u16>().read_unaligned() as usize;
                    a.dealloc(p, layout(size));
                }
                q.head.store(i + 1, Ordering::Release);
            }
        });
        producer.join().unwrap();
        consumer.join().unwrap();
    });
}
