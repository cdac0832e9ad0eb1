//! Many threads: eight on two cores with cross-thread frees, ten thousand
//! short-lived ones without growth, and a zone dropped while another thread
//! still holds its magazines.

use std::sync::mpsc;
use std::sync::{Arc, Barrier};

use slab_alloc::SlabMalloc;

use crate::recorded;

/// A block filled with a pattern of its owner and size, checked before it
/// is freed, so that two owners of one block would show.
struct Block {
    ptr: usize,
    size: usize,
    tag: u8,
}

impl Block {
    fn new(zone: &SlabMalloc, size: usize, tag: u8) -> Block {
        let p = zone.malloc(size).expect("memory");
        // SAFETY: a fresh block of at least `size` bytes.
        unsafe { p.as_ptr().write_bytes(tag, size) };
        Block {
            ptr: p.as_ptr() as usize,
            size,
            tag,
        }
    }

    fn free(self, zone: &SlabMalloc) {
        let p = self.ptr as *mut u8;
        // SAFETY: the block is live and ours, `size` bytes long.
        let bytes = unsafe { std::slice::from_raw_parts(p, self.size) };
        assert!(
            bytes.iter().all(|&b| b == self.tag),
            "block {p:p} was overwritten"
        );
        // SAFETY: freed once.
        unsafe { zone.free(p) };
    }
}

/// A small xorshift generator, seeded per thread.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn eight_threads_free_each_others_blocks() {
    let zone = crate::recording_zone();
    let threads = 8;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| mpsc::channel::<Vec<Block>>()).unzip();
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (t, rx) in rxs.into_iter().enumerate() {
            let to = txs[(t + 1) % threads].clone();
            let zone = &zone;
            handles.push(s.spawn(move || {
                let mut rng = 0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1);
                for round in 0..40 {
                    let mut batch = Vec::new();
                    let mut own = Vec::new();
                    for i in 0..500 {
                        let size = match next(&mut rng) % 16 {
                            0 => 4096 + (next(&mut rng) % 60_000) as usize,
                            _ => 1 + (next(&mut rng) % 512) as usize,
                        };
                        let b = Block::new(zone, size, (t * 31 + round + i) as u8);
                        if i % 2 == 0 {
                            batch.push(b)
                        } else {
                            own.push(b)
                        }
                    }
                    to.send(batch).unwrap();
                    for b in own {
                        b.free(zone);
                    }
                    for b in rx.recv().unwrap() {
                        b.free(zone);
                    }
                }
                assert!(recorded().is_empty());
            }));
        }
        // An explicit join waits for the thread's exit, magazine flush
        // included; the scope's own wait ends with the closure.
        for h in handles {
            h.join().unwrap();
        }
    });
    drop(txs);
    zone.trim();
    // Magazines of the exited threads went back to the depots, and from
    // there into the slabs.
    assert_eq!(zone.stats().live_bytes(), 0);
}

#[test]
fn ten_thousand_short_threads_do_not_grow_the_zone() {
    let zone = crate::recording_zone();
    let run = |count: usize| {
        for _ in 0..count / 8 {
            std::thread::scope(|s| {
                let mut handles = Vec::new();
                for t in 0..8 {
                    let zone = &zone;
                    handles.push(s.spawn(move || {
                        let blocks: Vec<_> = (0..64)
                            .map(|i| Block::new(zone, 8 + (i * 37 + t * 11) % 700, i as u8))
                            .collect();
                        for b in blocks {
                            b.free(zone);
                        }
                    }));
                }
                for h in handles {
                    h.join().unwrap();
                }
            });
        }
    };
    run(1000);
    // The depots may hold up to about 128 KiB per class and home, more or
    // less of it depending on which threads exited last: trimmed, what is
    // left is what the slabs keep.
    zone.trim();
    let after_1k = zone.stats();
    run(9000);
    zone.trim();
    let after_10k = zone.stats();
    assert!(recorded().is_empty());
    // Exited threads' magazines went back: nothing is live, and the slabs
    // held after 10,000 threads are about what they were after 1,000.
    assert!(
        after_10k.small_bytes_held() <= after_1k.small_bytes_held() + (1 << 20),
        "held {} bytes after 1,000 threads, {} after 10,000",
        after_1k.small_bytes_held(),
        after_10k.small_bytes_held()
    );
    // Magazines are never freed, only reused: their number is bounded by
    // how many can be out at once (two per class for each of the 8 running
    // threads and this one, plus at most 16 full ones per class in each of
    // the depot's 8 home stacks), not by how many threads ever ran.
    let used = after_10k
        .classes
        .iter()
        .filter(|c| c.slabs.objects_allocated > 0)
        .count();
    assert!(
        after_10k.magazines <= (9 * 2 + 16 * 8) * used,
        "{} magazines after 1,000 threads, {} after 10,000, {used} classes used",
        after_1k.magazines,
        after_10k.magazines
    );
    // Chunks are mapped for the slabs out at once: with homes, at most a
    // claimed slab per class for each of the 8 homes and one more for this
    // thread's (64 KiB slabs for these sizes), plus a chunk for the
    // magazines; not for how many threads ever ran. (Which classes' slabs
    // overlap in time varies between runs: after 1,000 threads 1 to 3
    // chunks are mapped.)
    let chunks_bound = (9 * used * (64 << 10)).div_ceil(4 << 20) + 1;
    assert!(
        after_10k.chunks <= chunks_bound,
        "{} chunks after 1,000 threads, {} after 10,000 (bound {chunks_bound})",
        after_1k.chunks,
        after_10k.chunks
    );
    assert_eq!(after_10k.live_bytes(), 0);
}

/// A zone handed to another thread by address, so that it can be dropped
/// while that thread lives on.
struct Shared(*const SlabMalloc);
// SAFETY: the test orders every use of the zone before its drop.
unsafe impl Send for Shared {}

#[test]
fn dropping_a_zone_while_another_thread_holds_its_magazines() {
    let zone = Box::new(SlabMalloc::new());
    let shared = Shared(&raw const *zone);
    let barrier = Arc::new(Barrier::new(2));
    let b = Arc::clone(&barrier);
    let worker = std::thread::spawn(move || {
        let shared = shared;
        // SAFETY: the zone lives until the first barrier.
        let z = unsafe { &*shared.0 };
        let blocks: Vec<_> = (0..300).map(|i| Block::new(z, 16 + i % 500, 1)).collect();
        for blk in blocks {
            blk.free(z);
        }
        // This thread's magazines now hold blocks of `zone`.
        b.wait();
        // The zone is dropped here.
        b.wait();
        // New zones take this thread's bindings; the dropped zone's were
        // cleared, so nothing is flushed into it, now or at thread exit.
        let others: Vec<_> = (0..3).map(|_| SlabMalloc::new()).collect();
        for z in &others {
            let blocks: Vec<_> = (0..100).map(|i| Block::new(z, 16 + i, 2)).collect();
            for blk in blocks {
                blk.free(z);
            }
        }
        others.len()
    });
    barrier.wait();
    drop(zone);
    barrier.wait();
    assert_eq!(worker.join().unwrap(), 3);
}
