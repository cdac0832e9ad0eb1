//! Eight threads allocate blocks of every home, send most of them to other
//! threads over channels, and free what they receive after checking that
//! every byte is as its allocator wrote it.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;

use bsalloc::BsAlloc;

use crate::{Rng, check, fill};

/// A filled block on its way to the thread that frees it.
struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    seed: u64,
}

// SAFETY: a `Block` owns its memory alone; the heap frees blocks from any
// thread.
unsafe impl Send for Block {}

/// Checks and frees a block on the current thread.
fn free(heap: &BsAlloc, block: Block) {
    assert_eq!(
        block.ptr.as_ptr().addr() % block.layout.align(),
        0,
        "a block of {:?} is misaligned",
        block.layout
    );
    // SAFETY: the block is live and was filled with its seed.
    let found = unsafe { check(block.ptr, block.layout.size(), block.seed) };
    assert_eq!(
        found,
        Ok(()),
        "block {:#x} of {:?} was overwritten while it was live",
        block.seed,
        block.layout
    );
    // SAFETY: allocated by `heap` with `layout`, freed once.
    unsafe { heap.dealloc(block.ptr.as_ptr(), block.layout) };
}

fn run(heap: &BsAlloc, threads: usize, ops: usize) {
    let allocated = AtomicUsize::new(0);
    let freed = AtomicUsize::new(0);
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..threads).map(|_| mpsc::channel::<Block>()).unzip();
    thread::scope(|s| {
        for (me, inbox) in receivers.into_iter().enumerate() {
            let outboxes = senders.clone();
            let (allocated, freed) = (&allocated, &freed);
            s.spawn(move || {
                let mut rng = Rng::new(me as u64 + 1);
                let mut mine: Vec<Block> = Vec::new();
                for op in 0..ops {
                    let layout = rng.layout();
                    // SAFETY: the layout is not zero-sized.
                    let ptr = NonNull::new(unsafe { heap.alloc(layout) })
                        .unwrap_or_else(|| panic!("allocating {layout:?} failed"));
                    let seed = (me as u64) << 32 | op as u64;
                    // SAFETY: a fresh block of `layout.size()` bytes.
                    unsafe { fill(ptr, layout.size(), seed) };
                    allocated.fetch_add(1, Ordering::Relaxed);
                    let block = Block { ptr, layout, seed };
                    match rng.range(0, 9) {
                        0..7 => {
                            let to = (me + 1 + rng.range(0, threads - 2)) % threads;
                            outboxes[to].send(block).unwrap();
                        }
                        _ => mine.push(block),
                    }
                    if mine.len() > 16 {
                        free(heap, mine.swap_remove(rng.range(0, 16)));
                        freed.fetch_add(1, Ordering::Relaxed);
                    }
                    while let Ok(block) = inbox.try_recv() {
                        free(heap, block);
                        freed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                for block in mine {
                    free(heap, block);
                    freed.fetch_add(1, Ordering::Relaxed);
                }
                drop(outboxes);
                // Every other thread's senders drop when it finishes.
                for block in inbox {
                    free(heap, block);
                    freed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        drop(senders);
    });
    assert_eq!(allocated.into_inner(), threads * ops);
    assert_eq!(
        freed.into_inner(),
        threads * ops,
        "every block was freed once"
    );
}

#[test]
fn eight_threads_free_each_others_blocks() {
    let (threads, ops) = if cfg!(miri) { (4, 30) } else { (8, 20_000) };
    let heap = BsAlloc::new();
    run(&heap, threads, ops);
    // The heap is still whole: another round reuses it.
    run(&heap, threads, ops / 4);
}

#[test]
fn blocks_freed_by_one_thread_are_reused_by_another() {
    let heap = BsAlloc::new();
    let small = Layout::from_size_align(48, 8).unwrap();
    let large = Layout::from_size_align(2304, 128).unwrap();
    // Within the arenas (small under Miri): mappings are not reused.
    let n = 100.min(BsAlloc::LARGE_BLOCKS);
    let freed: Vec<usize> = thread::scope(|s| {
        s.spawn(|| {
            let blocks: Vec<*mut u8> = (0..n)
                .flat_map(|_| {
                    // SAFETY: non-zero layouts.
                    unsafe { [heap.alloc(small), heap.alloc(large)] }
                })
                .collect();
            let addrs = blocks.iter().map(|p| p.addr()).collect();
            for (i, p) in blocks.into_iter().enumerate() {
                let layout = if i % 2 == 0 { small } else { large };
                // SAFETY: allocated above with `layout`, freed once.
                unsafe { heap.dealloc(p, layout) };
            }
            addrs
        })
        .join()
        .unwrap()
    });
    let reused: Vec<usize> = thread::scope(|s| {
        s.spawn(|| {
            let blocks: Vec<(*mut u8, Layout)> = (0..n)
                .flat_map(|_| {
                    // SAFETY: non-zero layouts.
                    unsafe { [(heap.alloc(small), small), (heap.alloc(large), large)] }
                })
                .collect();
            let addrs = blocks.iter().map(|(p, _)| p.addr()).collect();
            for (p, layout) in blocks {
                // SAFETY: allocated above with `layout`, freed once.
                unsafe { heap.dealloc(p, layout) };
            }
            addrs
        })
        .join()
        .unwrap()
    });
    let mut freed = freed;
    let mut reused = reused;
    freed.sort_unstable();
    reused.sort_unstable();
    assert_eq!(
        freed, reused,
        "the second thread got exactly the blocks the first freed"
    );
}
