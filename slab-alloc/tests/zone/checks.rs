//! Every bad free is caught, with the class (or the zone) and the address:
//! from the thread-cache path, after the block went back to its slab, on
//! another thread, and for large blocks; and the default hook aborts with
//! the message.

use std::alloc::{GlobalAlloc, Layout};

use slab_alloc::{FreeErrorKind, SlabMalloc};

use crate::{child, recorded, recording_zone};

#[test]
fn double_free_on_the_thread_cache_path_is_caught() {
    let zone = recording_zone();
    let p = zone.malloc(64).unwrap().as_ptr();
    // SAFETY: `p` is a block of `zone`; the second free is the error.
    unsafe {
        zone.free(p);
        zone.free(p);
    }
    let errs = recorded();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].kind, FreeErrorKind::DoubleFree);
    assert_eq!(errs[0].addr, p as usize);
    assert_eq!(errs[0].cache, "slab-malloc 64 B");
    // The block is still free once: it comes back exactly once.
    let again = zone.malloc(64).unwrap().as_ptr();
    assert_eq!(again, p);
    let other = zone.malloc(64).unwrap().as_ptr();
    assert_ne!(other, p);
    // SAFETY: both are live blocks of `zone`, freed once.
    unsafe {
        zone.free(again);
        zone.free(other);
    }
    assert!(recorded().is_empty());
}

#[test]
fn double_free_after_the_block_went_back_to_its_slab_is_caught() {
    let zone = recording_zone();
    let blocks: Vec<_> = (0..500)
        .map(|_| zone.malloc(200).unwrap().as_ptr())
        .collect();
    // `blocks[8]` stays live, so the slab it shares with `blocks[7]` (the
    // first magazine was filled from one fresh slab, in order) stays.
    for (i, &p) in blocks.iter().enumerate() {
        if i != 8 {
            // SAFETY: each block freed once.
            unsafe { zone.free(p) };
        }
    }
    // Magazines and depot go back to the slabs; empty slabs to the kernel.
    zone.trim();
    // SAFETY: deliberately a second free of a block now free in its slab.
    unsafe { zone.free(blocks[7]) };
    let errs = recorded();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].kind, FreeErrorKind::DoubleFree);
    assert_eq!(errs[0].cache, "slab-malloc 208 B");
    // SAFETY: the live block, freed once; then the slab is empty and
    // returned, and a stale free of its address finds no slab there.
    unsafe {
        zone.free(blocks[8]);
        zone.trim();
        zone.free(blocks[8]);
    }
    let errs = recorded();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].kind, FreeErrorKind::NotManaged);
    assert_eq!(errs[0].addr, blocks[8] as usize);
}

#[test]
fn double_free_on_another_thread_is_caught() {
    let zone = recording_zone();
    let p = zone.malloc(32).unwrap().as_ptr() as usize;
    // SAFETY: a block of `zone`, freed once here.
    unsafe { zone.free(p as *mut u8) };
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: deliberately a second free, from another thread.
            unsafe { zone.free(p as *mut u8) };
            let errs = recorded();
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(errs[0].kind, FreeErrorKind::DoubleFree);
            assert_eq!(errs[0].addr, p);
        });
    });
}

/// `GlobalAlloc::dealloc` looks first in the class its layout names; every
/// check still applies, and a layout of another class (wrong, or a block
/// resized in place) only sends the free down the checked path.
#[test]
fn sized_frees_are_checked_like_unsized_ones() {
    let zone = recording_zone();
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: blocks of `zone`; each bad free is reported, not carried out.
    unsafe {
        let p = zone.alloc(layout);
        zone.dealloc(p, layout);
        zone.dealloc(p, layout);
        let errs = recorded();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].kind, FreeErrorKind::DoubleFree);
        assert_eq!(
            (errs[0].addr, errs[0].cache),
            (p as usize, "slab-malloc 112 B")
        );

        let q = zone.alloc(layout);
        zone.dealloc(q.add(16), layout);
        let errs = recorded();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].kind, FreeErrorKind::Interior { object: q as usize });

        let mut local = [0u64; 16];
        zone.dealloc(local.as_mut_ptr().cast(), layout);
        let errs = recorded();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].kind, FreeErrorKind::NotManaged);

        // A layout of another class frees the block all the same, once.
        zone.dealloc(q, Layout::from_size_align(20, 8).unwrap());
        assert!(recorded().is_empty());
        zone.dealloc(q, layout);
        assert_eq!(recorded()[0].kind, FreeErrorKind::DoubleFree);
        let stats = zone.stats();
        let class = stats.classes.iter().find(|c| c.size == 112).unwrap();
        assert_eq!((class.allocs, class.frees), (2, 2));
    }
}

/// The double-free check reads the block's tag in its slab's metadata,
/// never the block: no contents of a live block (zeros, ones, its own
/// address, the byte the zone once marked freed blocks with) make its free
/// look like a second one, through any entry point, and a real second free
/// is caught.
#[test]
fn block_contents_never_decide_a_free() {
    let zone = recording_zone();
    let layout = Layout::from_size_align(48, 8).unwrap();
    // SAFETY: live blocks of `zone`, each written, then freed once; the
    // second free of each third block is the error.
    unsafe {
        let patterns: [fn(*mut u8) -> u64; 4] = [
            |_| 0,
            |_| u64::MAX,
            |_| u64::from_ne_bytes([0xa5; 8]),
            |p| p as u64,
        ];
        for pattern in patterns {
            let ps = [
                zone.malloc(48).unwrap().as_ptr(),
                zone.alloc(layout),
                zone.alloc(layout),
            ];
            for &p in &ps {
                for i in 0..6 {
                    p.cast::<u64>().add(i).write(pattern(p));
                }
            }
            zone.free(ps[0]);
            zone.free_sized(ps[1], 48, 8);
            zone.dealloc(ps[2], layout);
            assert!(recorded().is_empty());
            zone.dealloc(ps[2], layout);
            let errs = recorded();
            assert_eq!(errs.len(), 1, "{errs:?}");
            assert_eq!(errs[0].kind, FreeErrorKind::DoubleFree);
            assert_eq!(errs[0].addr, ps[2] as usize);
        }
    }
    let stats = zone.stats();
    let class = stats.classes.iter().find(|c| c.size == 48).unwrap();
    assert_eq!((class.allocs, class.frees), (12, 12));
}

#[test]
fn interior_pointers_name_the_block() {
    let zone = recording_zone();
    for size in [16, 100, 3000, 20_000, 100_000, 300_000] {
        let p = zone.malloc(size).unwrap().as_ptr();
        // SAFETY: an address inside the block; the free is the error.
        unsafe { zone.free(p.add(8)) };
        let errs = recorded();
        assert_eq!(errs.len(), 1, "size {size}: {errs:?}");
        assert_eq!(
            errs[0].kind,
            FreeErrorKind::Interior { object: p as usize },
            "size {size}"
        );
        // The block itself is untouched and frees cleanly.
        // SAFETY: the live block, freed once.
        unsafe { zone.free(p) };
        assert!(recorded().is_empty());
    }
}

#[test]
fn addresses_the_zone_does_not_manage_are_reported_untouched() {
    let zone = recording_zone();
    // Make the zone's state, so the check runs through the chunk map.
    let keep = zone.malloc(8).unwrap();
    let on_stack = 0u64;
    let heap = Box::new(7u64);
    for addr in [
        &raw const on_stack as usize,
        &raw const *heap as usize,
        0x10,
        usize::MAX & !15,
    ] {
        // SAFETY: not a block of the zone; the checks read nothing there.
        unsafe { zone.free(addr as *mut u8) };
        let errs = recorded();
        assert_eq!(errs.len(), 1, "{addr:#x}: {errs:?}");
        assert_eq!(errs[0].kind, FreeErrorKind::NotManaged, "{addr:#x}");
        assert_eq!(errs[0].cache, "slab-malloc");
        assert_eq!(errs[0].addr, addr);
    }
    assert_eq!(*heap, 7);
    // SAFETY: the live block, freed once.
    unsafe { zone.free(keep.as_ptr()) };
}

#[test]
fn a_block_of_another_zone_is_named_as_such() {
    let a = recording_zone();
    let b = recording_zone();
    let p = a.malloc(64).unwrap().as_ptr();
    let big = a.malloc(1 << 20).unwrap().as_ptr();
    for q in [p, big] {
        // SAFETY: a block of `a` given to `b`: the error.
        unsafe { b.free(q) };
        let errs = recorded();
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].kind,
            FreeErrorKind::OtherCache {
                other: "another slab-malloc zone"
            }
        );
    }
    // SAFETY: the blocks, each freed once into their own zone.
    unsafe {
        a.free(p);
        a.free(big);
    }
    assert!(recorded().is_empty());
}

#[test]
fn slab_metadata_is_not_a_block() {
    let zone = recording_zone();
    let p = zone.malloc(64).unwrap().as_ptr();
    // Slabs of small classes are 64 KiB, aligned to it: the base holds the
    // slab's header.
    let base = (p as usize) & !0xffff;
    // SAFETY: an address in slab metadata: the error.
    unsafe { zone.free(base as *mut u8) };
    let errs = recorded();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].kind, FreeErrorKind::NotAnObject);
    // SAFETY: the live block, freed once.
    unsafe { zone.free(p) };
}

#[test]
fn large_blocks_are_checked_too() {
    let zone = recording_zone();
    let p = zone.malloc(300_000).unwrap().as_ptr();
    // SAFETY: inside the block: an error.
    unsafe { zone.free(p.add(4096)) };
    // SAFETY: the block's header page: an error.
    unsafe { zone.free(p.sub(4096)) };
    // SAFETY: the live block, then deliberately again.
    unsafe {
        zone.free(p);
        zone.free(p);
    }
    let kinds: Vec<_> = recorded().into_iter().map(|e| (e.cache, e.kind)).collect();
    assert_eq!(
        kinds,
        [
            (
                "slab-malloc large",
                FreeErrorKind::Interior { object: p as usize }
            ),
            ("slab-malloc large", FreeErrorKind::NotAnObject),
            ("slab-malloc large", FreeErrorKind::DoubleFree),
        ]
    );
}

#[test]
fn a_clean_free_reports_nothing_and_null_is_ignored() {
    let zone = recording_zone();
    // SAFETY: null does nothing.
    unsafe { zone.free(core::ptr::null_mut()) };
    let layout = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: a non-zero layout; the block is freed once.
    unsafe {
        let p = zone.alloc(layout);
        assert!(!p.is_null());
        zone.dealloc(p, layout);
    }
    assert!(recorded().is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "starts a child process")]
fn double_free_aborts_with_the_class_and_address() {
    if child::role().as_deref() == Some("zone-double-free") {
        let zone = SlabMalloc::new();
        let p = zone.malloc(64).unwrap().as_ptr();
        eprintln!("block at {p:p}");
        // SAFETY: deliberately a double free: the default hook aborts.
        unsafe {
            zone.free(p);
            zone.free(p);
        }
        unreachable!("the second free returned");
    }
    let out = child::run(
        "checks::double_free_aborts_with_the_class_and_address",
        "zone-double-free",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child did not abort: {stderr}");
    let addr = stderr
        .lines()
        .find_map(|l| l.strip_prefix("block at "))
        .expect("the child printed the address");
    let expected = format!("slab-alloc: cache `slab-malloc 64 B`: bad free of {addr}: double free");
    assert!(stderr.contains(&expected), "stderr was: {stderr}");
}

#[test]
#[cfg_attr(miri, ignore = "starts a child process")]
fn foreign_free_aborts_with_the_address() {
    if child::role().as_deref() == Some("zone-foreign") {
        let zone = SlabMalloc::new();
        let keep = zone.malloc(16).unwrap();
        let x = Box::new(1u64);
        eprintln!("foreign at {:p}", &raw const *x);
        // SAFETY: deliberately a free of memory the zone does not manage.
        unsafe { zone.free((&raw const *x).cast_mut().cast()) };
        let _ = keep;
        unreachable!("the free returned");
    }
    let out = child::run(
        "checks::foreign_free_aborts_with_the_address",
        "zone-foreign",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child did not abort: {stderr}");
    let addr = stderr
        .lines()
        .find_map(|l| l.strip_prefix("foreign at "))
        .expect("the child printed the address");
    let expected = format!(
        "slab-alloc: cache `slab-malloc`: bad free of {addr}: address not managed by this cache"
    );
    assert!(stderr.contains(&expected), "stderr was: {stderr}");
}

#[test]
fn usable_size_is_the_class_or_the_mapping() {
    let zone = recording_zone();
    for (size, usable) in [
        (1, 16),
        (17, 32),
        (129, 144),
        (1000, 1024),
        (32_768, 32_768),
    ] {
        let p = zone.malloc(size).unwrap().as_ptr();
        // SAFETY: a live block of `zone`.
        assert_eq!(unsafe { zone.usable_size(p) }, Ok(usable), "size {size}");
        // SAFETY: freed once.
        unsafe { zone.free(p) };
    }
    let p = zone.malloc(300_000).unwrap().as_ptr();
    // SAFETY: a live block of `zone`.
    let usable = unsafe { zone.usable_size(p) }.unwrap();
    assert!((300_000..300_000 + 4096).contains(&usable), "{usable}");
    // SAFETY: freed once.
    unsafe { zone.free(p) };
}

#[test]
fn realloc_stays_in_place_within_a_class_and_keeps_the_prefix() {
    let zone = SlabMalloc::new();
    let layout = Layout::from_size_align(100, 16).unwrap();
    // SAFETY: a non-zero layout; each pointer is the live block of the
    // previous call.
    unsafe {
        let p = zone.alloc(layout);
        for i in 0..100u8 {
            p.add(usize::from(i)).write(i);
        }
        // 100 bytes live in the 112-byte class: growing to 110 stays.
        let q = zone.realloc(p, layout, 110);
        assert_eq!(q, p);
        let r = zone.realloc(q, Layout::from_size_align(110, 16).unwrap(), 5000);
        assert_ne!(r, q);
        for i in 0..100u8 {
            assert_eq!(*r.add(usize::from(i)), i);
        }
        let s = zone.realloc(r, Layout::from_size_align(5000, 16).unwrap(), 200_000);
        for i in 0..100u8 {
            assert_eq!(*s.add(usize::from(i)), i);
        }
        // Shrinking a large block a little stays in place.
        let t = zone.realloc(s, Layout::from_size_align(200_000, 16).unwrap(), 190_000);
        assert_eq!(t, s);
        zone.dealloc(t, Layout::from_size_align(190_000, 16).unwrap());
    }
}
