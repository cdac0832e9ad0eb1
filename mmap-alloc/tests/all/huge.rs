//! Huge pages: explicit (`MAP_HUGETLB`) with and without fallback, and
//! transparent.

use mmap_alloc::{HUGE_PAGE_SIZE, HugePages, MapAlloc, MapError};

/// Whether the kernel has explicit huge pages reserved right now.
fn hugetlb_pool() -> usize {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("HugePages_Free:"));
    field.and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no MAP_HUGETLB")]
fn explicit_huge_pages_map_2_mib_units_or_refuse_with_enomem() {
    let map = MapAlloc::builder()
        .huge_pages(HugePages::Explicit { fallback: false })
        .build()
        .unwrap();
    assert_eq!(map.page_size(), HUGE_PAGE_SIZE);
    assert_eq!(map.mapped_size(1), Some(HUGE_PAGE_SIZE));
    match map.map(3 << 20, 1) {
        Ok(p) => {
            assert_eq!(p.as_ptr() as usize % HUGE_PAGE_SIZE, 0);
            // SAFETY: `p` is a live mapping of 4 MiB (3 MiB rounded).
            unsafe {
                p.as_ptr().write_bytes(1, 4 << 20);
                map.unmap(p, 3 << 20).unwrap();
            }
        }
        Err(e) => {
            assert_eq!(hugetlb_pool(), 0, "the pool has pages, yet: {e}");
            assert_eq!(
                e,
                MapError::Kernel {
                    call: "mmap",
                    errno: libc::ENOMEM
                }
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no MAP_HUGETLB")]
fn explicit_huge_pages_fall_back_when_the_pool_is_empty() {
    let map = MapAlloc::builder()
        .huge_pages(HugePages::Explicit { fallback: true })
        .build()
        .unwrap();
    let blocks: Vec<_> = (1..6)
        .map(|i| (map.map(i << 20, 1).unwrap(), i << 20))
        .collect();
    for &(p, len) in &blocks {
        assert_eq!(p.as_ptr() as usize % HUGE_PAGE_SIZE, 0);
        // SAFETY: each is a live mapping of at least `len` bytes; then it
        // is unmapped with that size.
        unsafe {
            p.as_ptr().write_bytes(2, len);
            map.unmap(p, len).unwrap();
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "Miri has no madvise")]
fn transparent_huge_pages_align_large_mappings_to_2_mib() {
    let map = MapAlloc::builder()
        .huge_pages(HugePages::Transparent)
        .build()
        .unwrap();
    assert_eq!(
        map.page_size(),
        MapAlloc::new().page_size(),
        "base pages underneath"
    );
    for len in [2 << 20, 5 << 20, 64 << 20] {
        let p = map.map(len, 1).unwrap();
        assert_eq!(p.as_ptr() as usize % HUGE_PAGE_SIZE, 0, "{len} bytes");
        // SAFETY: `p` is a live mapping of `len` bytes.
        unsafe {
            p.as_ptr().write_bytes(3, len);
            map.unmap(p, len).unwrap();
        }
    }
}

/// A failed `MAP_FIXED` of huge pages inside a reservation must not give
/// back address space another thread may have mapped in the meantime. One
/// thread keeps asking for explicit huge pages aligned beyond 2 MiB (a
/// reservation, then a fixed mapping the empty pool refuses) while another
/// maps, fills, checks and unmaps base pages; if the refused mapping's
/// clean-up unmapped the other thread's pages, that thread would fault.
#[test]
#[cfg_attr(miri, ignore = "Miri has no MAP_HUGETLB")]
fn refused_huge_pages_leave_other_threads_mappings_alone() {
    if hugetlb_pool() > 0 {
        // With pages in the pool the mappings succeed: nothing to refuse.
        return;
    }
    let huge = MapAlloc::builder()
        .huge_pages(HugePages::Explicit { fallback: false })
        .build()
        .unwrap();
    let plain = MapAlloc::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..20_000 {
                assert!(huge.map(2 << 20, 4 << 20).is_err());
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let p = plain.map(64 << 10, 1).unwrap();
                // SAFETY: `p` is this thread's live mapping of 64 KiB.
                unsafe {
                    p.as_ptr().write_bytes(7, 64 << 10);
                    assert!(
                        std::slice::from_raw_parts(p.as_ptr(), 64 << 10)
                            .iter()
                            .all(|&b| b == 7)
                    );
                    plain.unmap(p, 64 << 10).unwrap();
                }
            }
        });
    });
}
