//! Memory goes back to the kernel: after a burst of frees the resident set
//! falls, read from `/proc/self/statm` in a child process (so that other
//! tests' allocations do not move it).

use std::alloc::{GlobalAlloc, Layout};

use slab_alloc::{LARGE_DECAY, SlabMalloc};

use crate::child;

/// This process's resident set, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: `sysconf` has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

const MIB: usize = 1 << 20;

/// Runs `role`'s half of `test` in a child and checks it passed.
fn in_child(test: &str, role: &str) {
    let out = child::run(test, role);
    assert!(
        out.status.success(),
        "child failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_burst_of_small_frees_gives_the_pages_back() {
    if child::role().as_deref() == Some("small-burst") {
        let zone = SlabMalloc::new();
        let before = rss();
        let blocks: Vec<_> = (0..65_536)
            .map(|i| {
                let p = zone.malloc(1000).unwrap();
                // SAFETY: a fresh block of 1,000 bytes.
                unsafe { p.as_ptr().write_bytes(i as u8, 1000) };
                p
            })
            .collect();
        let peak = rss();
        assert!(peak >= before + 60 * MIB, "{before} -> {peak}");
        for p in &blocks {
            // SAFETY: each block freed once.
            unsafe { zone.free(p.as_ptr()) };
        }
        drop(blocks);
        // No trim: the depot keeps a few magazines, the rest went back to
        // the slabs, and empty slabs beyond the working set were
        // decommitted.
        let after = rss();
        assert!(after < before + 8 * MIB, "{before} -> {peak} -> {after}");
        let held = zone.stats().small_bytes_held();
        assert!(held < 8 * MIB, "slabs still held: {held}");
        return;
    }
    in_child(
        "memory::a_burst_of_small_frees_gives_the_pages_back",
        "small-burst",
    );
}

#[test]
fn freed_large_blocks_are_decommitted_when_idle_or_trimmed() {
    if child::role().as_deref() == Some("large-burst") {
        let zone = SlabMalloc::new();
        let touch = |p: *mut u8, len: usize| {
            // SAFETY: a live block of at least `len` bytes.
            unsafe { p.write_bytes(1, len) }
        };
        let before = rss();
        let blocks: Vec<_> = (0..8).map(|_| zone.malloc(4 * MIB).unwrap()).collect();
        for p in &blocks {
            touch(p.as_ptr(), 4 * MIB);
        }
        assert!(rss() >= before + 30 * MIB);
        for p in &blocks {
            // SAFETY: each block freed once.
            unsafe { zone.free(p.as_ptr()) };
        }
        // Cached for reuse, still resident.
        assert_eq!(zone.stats().large.cached_blocks, 8);
        // Reuse takes a cached block.
        let again = zone.malloc(4 * MIB).unwrap();
        assert!(blocks.contains(&again));
        // SAFETY: freed once.
        unsafe { zone.free(again.as_ptr()) };
        // Idle for longer than the decay: the next large operation
        // decommits them.
        std::thread::sleep(LARGE_DECAY + LARGE_DECAY / 2);
        let probe = zone.malloc(MIB).unwrap();
        let after_decay = rss();
        assert!(after_decay < before + 8 * MIB, "{before} -> {after_decay}");
        // SAFETY: freed once.
        unsafe { zone.free(probe.as_ptr()) };
        // trim does the same at once.
        let more: Vec<_> = (0..4).map(|_| zone.malloc(4 * MIB).unwrap()).collect();
        for p in &more {
            touch(p.as_ptr(), 4 * MIB);
            // SAFETY: each block freed once.
            unsafe { zone.free(p.as_ptr()) };
        }
        zone.trim();
        let after_trim = rss();
        assert!(after_trim < before + 8 * MIB, "{before} -> {after_trim}");
        return;
    }
    in_child(
        "memory::freed_large_blocks_are_decommitted_when_idle_or_trimmed",
        "large-burst",
    );
}

#[test]
fn statistics_count_classes_and_large_blocks() {
    let zone = SlabMalloc::new();
    assert_eq!(zone.stats().chunks, 0);
    let small: Vec<_> = (0..100).map(|_| zone.malloc(48).unwrap()).collect();
    let large = zone.malloc(1 << 20).unwrap();
    let stats = zone.stats();
    let class = stats.classes.iter().find(|c| c.size == 48).unwrap();
    assert!(class.slabs.objects_live >= 100);
    // This thread's calls are counted, magazines included.
    assert_eq!((class.allocs, class.frees), (100, 0));
    assert_eq!((stats.large.allocs, stats.large.frees), (1, 0));
    assert_eq!(class.slabs.slabs, 1);
    assert_eq!(stats.chunks, 1);
    assert_eq!(stats.large.live_blocks, 1);
    assert!(stats.large.live_bytes > 1 << 20);
    // Every way of freeing is counted: unsized, checked, and sized.
    for (i, p) in small.into_iter().enumerate() {
        // SAFETY: each block freed once, with the layout it was allocated
        // with (`malloc` aligns 48 bytes to 16).
        unsafe {
            match i % 3 {
                0 => zone.free(p.as_ptr()),
                1 => zone.try_free(p.as_ptr()).unwrap(),
                _ => zone.dealloc(p.as_ptr(), Layout::from_size_align(48, 16).unwrap()),
            }
        }
    }
    // SAFETY: freed once.
    unsafe { zone.free(large.as_ptr()) };
    zone.trim();
    let stats = zone.stats();
    let class = stats.classes.iter().find(|c| c.size == 48).unwrap();
    assert_eq!((class.allocs, class.frees), (100, 100));
    assert_eq!((stats.large.allocs, stats.large.frees), (1, 1));
    assert_eq!(stats.live_bytes(), 0);
    assert_eq!(stats.large.live_blocks, 0);
    assert_eq!(stats.large.cached_blocks, 1);
}
