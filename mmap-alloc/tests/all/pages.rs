//! Page-level behaviour: alignment, decommit lowering the resident set,
//! commit, and what decommitted memory reads back as.

use std::ptr::NonNull;

use mmap_alloc::{Decommit, MapAlloc, MapUntyped};
use object_alloc::SharedUntypedObjectAlloc;

use crate::child;

/// The resident set of this process in bytes, from `/proc/self/statm`.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux has /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("statm's second field");
    pages * MapAlloc::new().page_size()
}

#[test]
#[cfg_attr(
    miri,
    ignore = "alignment above a page needs a PROT_NONE reservation, which Miri does not emulate"
)]
fn two_mib_alignment_is_honoured() {
    let map = MapAlloc::new();
    let blocks: Vec<NonNull<u8>> = (0..16)
        .map(|i| map.map(4096 * (1 + i), 2 << 20).unwrap())
        .collect();
    for (i, p) in blocks.iter().enumerate() {
        assert_eq!(p.as_ptr() as usize % (2 << 20), 0, "mapping {i} at {p:p}");
        // SAFETY: each mapping is live and has `4096 * (1 + i)` bytes.
        unsafe {
            p.as_ptr().write_bytes(i as u8, 4096 * (1 + i));
            map.unmap(*p, 4096 * (1 + i)).unwrap();
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "alignment above a page needs a PROT_NONE reservation, which Miri does not emulate"
)]
fn alignments_up_to_a_gigabyte_are_honoured() {
    let map = MapAlloc::new();
    let mut align = 1;
    while align <= 1 << 30 {
        let p = map.map(100, align).unwrap();
        assert_eq!(p.as_ptr() as usize % align, 0, "align {align}");
        // SAFETY: `p` is a live mapping of 100 bytes.
        unsafe { map.unmap(p, 100).unwrap() };
        align <<= 1;
    }
}

/// Runs `body` alone in a child process when this is the parent, so that
/// the resident set it measures is not moved by tests on other threads.
fn alone(test: &str, body: impl FnOnce()) {
    if child::role().as_deref() == Some("alone") {
        body();
        return;
    }
    let status = child::run(test, "alone");
    assert!(
        status.success(),
        "{test} failed in its child process: {status}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no madvise or /proc")]
fn decommit_lowers_the_resident_set_and_reads_back_zero() {
    alone(
        "pages::decommit_lowers_the_resident_set_and_reads_back_zero",
        decommit_lowers_rss,
    );
}

fn decommit_lowers_rss() {
    const LEN: usize = 64 << 20;
    let map = MapAlloc::new();
    let p = map.map(LEN, 4096).unwrap();
    // SAFETY: `p` is a live mapping of `LEN` bytes; the decommitted half is
    // not needed afterwards.
    unsafe {
        p.as_ptr().write_bytes(0x5a, LEN);
        let touched = rss();
        map.decommit(p, LEN / 2).unwrap();
        let after = rss();
        assert!(
            touched - after >= LEN / 2 - (1 << 20),
            "RSS went from {touched} to {after} bytes; decommitting {} should drop it by that much",
            LEN / 2
        );
        let bytes = std::slice::from_raw_parts(p.as_ptr(), LEN);
        assert!(
            bytes[..LEN / 2].iter().all(|&b| b == 0),
            "decommitted memory reads back as zero"
        );
        assert!(
            bytes[LEN / 2..].iter().all(|&b| b == 0x5a),
            "the rest is untouched"
        );
        map.unmap(p, LEN).unwrap();
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no madvise or /proc")]
fn commit_makes_pages_resident_before_they_are_touched() {
    alone(
        "pages::commit_makes_pages_resident_before_they_are_touched",
        commit_raises_rss,
    );
}

fn commit_raises_rss() {
    const LEN: usize = 32 << 20;
    let map = MapAlloc::new();
    let p = map.map(LEN, 4096).unwrap();
    let before = rss();
    // SAFETY: the range is the whole live mapping.
    unsafe { map.commit(p, LEN).unwrap() };
    let after = rss();
    // Kernels before 5.14 have no populate advice and commit on touch.
    if kernel_at_least(5, 14) {
        assert!(
            after - before >= LEN - (1 << 20),
            "RSS went from {before} to {after} bytes"
        );
    }
    // SAFETY: the whole live mapping.
    unsafe { map.unmap(p, LEN).unwrap() };
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no madvise")]
fn madv_free_keeps_the_range_usable() {
    const LEN: usize = 1 << 20;
    let map = MapAlloc::builder()
        .decommit(Decommit::Free)
        .build()
        .unwrap();
    let p = map.map(LEN, 4096).unwrap();
    // SAFETY: the whole live mapping; its contents are given up and then
    // written again.
    unsafe {
        p.as_ptr().write_bytes(3, LEN);
        map.decommit(p, LEN).unwrap();
        // Old contents or zero, nothing else.
        assert!(
            std::slice::from_raw_parts(p.as_ptr(), LEN)
                .iter()
                .all(|&b| b == 0 || b == 3)
        );
        p.as_ptr().write_bytes(4, LEN);
        assert!(
            std::slice::from_raw_parts(p.as_ptr(), LEN)
                .iter()
                .all(|&b| b == 4)
        );
        map.unmap(p, LEN).unwrap();
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "alignment above a page needs a PROT_NONE reservation, which Miri does not emulate"
)]
fn slabs_aligned_to_their_size_for_a_slab_allocator() {
    let layout = std::alloc::Layout::from_size_align(256 << 10, 256 << 10).unwrap();
    let slabs = MapUntyped::new(MapAlloc::new(), layout).unwrap();
    let held: Vec<_> = (0..8).map(|_| slabs.alloc().unwrap()).collect();
    for p in &held {
        assert_eq!(p.as_ptr() as usize % layout.align(), 0);
    }
    for p in held {
        // SAFETY: each came from `slabs` and is freed once.
        unsafe { slabs.dealloc(p) };
    }
}

#[test]
fn many_threads_map_and_unmap_at_once() {
    static MAP: MapAlloc = MapAlloc::new();
    let (threads, rounds) = if cfg!(miri) { (3, 4) } else { (8, 2000) };
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let expected = vec![t as u8; 5 * 4096];
                for i in 0..rounds {
                    let len = 4096 * (1 + (i + t) % 5);
                    // Miri emulates mappings aligned to a page only.
                    let align = if cfg!(miri) { 4096 } else { 4096 << (i % 3) };
                    let p = MAP.map(len, align).unwrap();
                    // SAFETY: `p` is this thread's live mapping of `len` bytes.
                    unsafe {
                        p.as_ptr().write_bytes(t as u8, len);
                        assert_eq!(
                            std::slice::from_raw_parts(p.as_ptr(), len),
                            &expected[..len]
                        );
                        MAP.unmap(p, len).unwrap();
                    }
                }
            });
        }
    });
}

/// Whether the running kernel is at least `major.minor`.
pub(crate) fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}
