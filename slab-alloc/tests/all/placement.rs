//! Where slabs and their metadata lie: slabs not aligned to their size
//! (found through the pointer-to-slab map), out-of-line metadata (in blocks
//! of its own, away from every object), and type-stable caches (slabs
//! never returned).

use core::alloc::Layout;
use core::ptr::NonNull;

use object_alloc::{GlobalUntyped, ObjectAlloc, UntypedObjectAlloc};
use slab_alloc::{FreeErrorKind, SlabBuilder, slab_layout_for};

use crate::backing::pool;

/// A slab layout for `object` that is neither a power of two nor aligned to
/// its size: three quarters of the usual slab, aligned only as the object
/// and a slab header need.
fn unaligned(object: Layout) -> Layout {
    let usual = slab_layout_for(object).size();
    Layout::from_size_align(usual / 4 * 3, object.align().max(8)).unwrap()
}

object_alloc_test::untyped_suite!(untyped_unaligned_heap, |layout| {
    SlabBuilder::new("suite-unaligned")
        .layout(layout)
        .build_untyped(GlobalUntyped::system(unaligned(layout)))
        .unwrap()
});

object_alloc_test::typed_suite!(typed_unaligned_pool, <T>(init) => {
    SlabBuilder::new("suite-typed-unaligned")
        .build::<T, _, _>(init, pool(unaligned(Layout::new::<T>())))
        .unwrap()
});

object_alloc_test::untyped_suite!(untyped_out_of_line_pool, |layout| {
    SlabBuilder::new("suite-out-of-line")
        .layout(layout)
        .out_of_line_metadata(true)
        .build_untyped(pool(slab_layout_for(layout)))
        .unwrap()
});

object_alloc_test::typed_suite!(typed_out_of_line_unaligned_heap, <T>(init) => {
    SlabBuilder::new("suite-typed-out-of-line")
        .out_of_line_metadata(true)
        .build::<T, _, _>(init, GlobalUntyped::system(unaligned(Layout::new::<T>())))
        .unwrap()
});

object_alloc_test::typed_suite!(typed_type_stable_heap, <T>(init) => {
    SlabBuilder::new("suite-typed-stable")
        .type_stable(true)
        .build::<T, _, _>(init, GlobalUntyped::system(slab_layout_for(Layout::new::<T>())))
        .unwrap()
});

const OBJECT: Layout = match Layout::from_size_align(48, 16) {
    Ok(l) => l,
    Err(_) => panic!(),
};

/// Every check on free works the same when slabs are found through the map:
/// interior, foreign, double free, another (unaligned) cache's object, and
/// addresses just outside a slab, at both ends.
#[test]
fn checks_on_unaligned_slabs() {
    let backing = || GlobalUntyped::system(Layout::from_size_align(3000, 16).unwrap());
    let mut a = SlabBuilder::new("unaligned-a")
        .layout(OBJECT)
        .build_untyped(backing())
        .unwrap();
    let mut b = SlabBuilder::new("unaligned-b")
        .layout(OBJECT)
        .out_of_line_metadata(true)
        .build_untyped(backing())
        .unwrap();
    let objs: Vec<_> = (0..200).map(|_| a.alloc().unwrap()).collect();
    let theirs = b.alloc().unwrap();
    for &o in &objs[..5] {
        // SAFETY: the checked free takes any address (`alloc` is on).
        let err = unsafe { a.try_dealloc(o.add(3)) }.unwrap_err();
        assert_eq!(
            err.kind,
            FreeErrorKind::Interior {
                object: o.addr().get()
            }
        );
    }
    // SAFETY: as above.
    let err = unsafe { a.try_dealloc(theirs) }.unwrap_err();
    assert_eq!(
        err.kind,
        FreeErrorKind::OtherCache {
            other: "unaligned-b"
        }
    );
    // SAFETY: as above.
    let err = unsafe { b.try_dealloc(objs[7]) }.unwrap_err();
    assert_eq!(
        err.kind,
        FreeErrorKind::OtherCache {
            other: "unaligned-a"
        }
    );
    let mut outside = [0u8; 64];
    // SAFETY: as above.
    let err = unsafe { a.try_dealloc(NonNull::from(&mut outside).cast()) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::NotManaged);
    for &o in &objs {
        // SAFETY: from `a`, freed once.
        unsafe { a.try_dealloc(o) }.unwrap();
    }
    // The last slab emptied is in the working set: a double free into it.
    // SAFETY: as above.
    let err = unsafe { a.try_dealloc(objs[199]) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::DoubleFree);
    // SAFETY: from `b`, freed once.
    unsafe { b.try_dealloc(theirs) }.unwrap();
    a.check_invariants();
    b.check_invariants();
}

/// Slabs of a size that is not a power of two, placed wherever the heap
/// puts them, fill completely and every object comes back.
#[test]
fn odd_slab_sizes_fill_and_empty() {
    for slab in [200, 1000, 3 * 4096, 40_000] {
        let mut c = SlabBuilder::new("odd")
            .layout(Layout::new::<[u64; 3]>())
            .max_empty_slabs(0)
            .build_untyped(GlobalUntyped::system(
                Layout::from_size_align(slab, 8).unwrap(),
            ))
            .unwrap();
        let per = c.objects_per_slab();
        let objs: Vec<_> = (0..per * 5 + 1).map(|_| c.alloc().unwrap()).collect();
        assert_eq!(c.stats().slabs, 6, "slab size {slab}");
        for &o in objs.iter().rev() {
            // SAFETY: from `c`, freed once.
            unsafe { c.try_dealloc(o) }.unwrap();
        }
        assert_eq!(c.stats().slabs, 0, "slab size {slab}");
    }
}

/// Out of line, objects fill the whole slab, and writing over every byte
/// of every object (an overrun of each into the next, and of the last to
/// the slab's end) leaves the metadata intact: every free succeeds.
#[test]
fn out_of_line_metadata_survives_overruns() {
    let object = Layout::from_size_align(64, 64).unwrap();
    let slab = Layout::from_size_align(4096, 4096).unwrap();
    let mut c = SlabBuilder::new("overrun")
        .layout(object)
        .out_of_line_metadata(true)
        .build_untyped(GlobalUntyped::system(slab))
        .unwrap();
    assert_eq!(c.objects_per_slab(), 64);
    let objs: Vec<_> = (0..3 * 64).map(|_| c.alloc().unwrap()).collect();
    let s = c.stats();
    assert_eq!((s.slabs, s.metadata_blocks), (3, 1));
    assert_eq!(s.bytes_held, 4 * 4096);
    for &o in &objs {
        // SAFETY: each object is ours, 64 bytes; the whole slab is objects.
        unsafe { o.write_bytes(0xA5, 64) };
    }
    for &o in &objs {
        // SAFETY: from `c`, freed once.
        unsafe { c.try_dealloc(o) }.unwrap();
    }
    c.check_invariants();
    assert_eq!(c.reap(), 2);
    assert_eq!(c.stats().metadata_blocks, 1);
}

/// Inline, the same overrun of the slab below reaches the header, and the
/// tag check reports it; this is what out-of-line metadata removes.
#[test]
fn inline_header_overrun_is_reported() {
    let object = Layout::from_size_align(64, 64).unwrap();
    let slab = Layout::from_size_align(4096, 4096).unwrap();
    let mut c = SlabBuilder::new("inline-overrun")
        .layout(object)
        .build_untyped(GlobalUntyped::system(slab))
        .unwrap();
    let o = c.alloc().unwrap();
    let base = o.as_ptr().with_addr(o.addr().get() & !4095);
    let mut saved = [0u8; 32];
    // SAFETY: the header lies in the slab, which the system allocator gave
    // the cache; this test plays the overrun that would clobber it, and
    // puts the bytes back afterwards.
    unsafe {
        base.copy_to_nonoverlapping(saved.as_mut_ptr(), 32);
        base.write_bytes(0x5A, 32);
    }
    // SAFETY: the checked free takes any address.
    let err = unsafe { c.try_dealloc(o) }.unwrap_err();
    assert_eq!(err.kind, FreeErrorKind::CorruptHeader);
    // SAFETY: as above.
    unsafe { base.copy_from_nonoverlapping(saved.as_ptr(), 32) };
    // SAFETY: from `c`, freed once (the failed free changed nothing).
    unsafe { c.try_dealloc(o) }.unwrap();
}

/// A type-stable cache keeps every slab, however many empty: freed objects
/// keep their constructed state, and the same addresses come back.
#[test]
fn type_stable_keeps_slabs() {
    let mut c = SlabBuilder::new("stable")
        .type_stable(true)
        .max_empty_slabs(0)
        .build::<[u64; 8], _, _>(
            || [7; 8],
            GlobalUntyped::system(slab_layout_for(Layout::new::<[u64; 8]>())),
        )
        .unwrap();
    let per = c.objects_per_slab();
    let first: Vec<_> = (0..per * 4).map(|_| c.alloc().unwrap()).collect();
    for &o in &first {
        // SAFETY: ours; a stale reader would now see this value.
        unsafe { (*o.as_ptr())[0] = 99 };
        // SAFETY: from `c`, freed once, a valid `[u64; 8]`.
        unsafe { c.dealloc(o) };
    }
    assert_eq!(c.stats().slabs, 4);
    assert_eq!(c.stats().empty_slabs, 4);
    assert_eq!(c.reap(), 0);
    for &o in &first {
        // SAFETY: the slab is still the cache's, and the freed object is
        // still a constructed `[u64; 8]` (what a stale reader relies on).
        assert_eq!(unsafe { (*o.as_ptr())[0] }, 99);
    }
    let mut again: Vec<_> = (0..per * 4).map(|_| c.alloc().unwrap()).collect();
    let mut first = first;
    first.sort();
    again.sort();
    assert_eq!(first, again, "the same addresses are handed out again");
    assert_eq!(c.stats().constructions, per as u64 * 4);
    for o in again {
        // SAFETY: from `c`, freed once.
        unsafe { c.dealloc(o) };
    }
}

/// Out-of-line metadata over guarded kernel pages: objects run to the end
/// of the slab, so an overrun of the last one faults on the guard page
/// instead of reaching anything. The write happens in a child process,
/// which must die of SIGSEGV.
#[cfg(not(miri))]
#[test]
fn out_of_line_overrun_hits_the_guard_page() {
    use mmap_alloc::{MapAlloc, MapUntyped};
    use std::os::unix::process::ExitStatusExt;

    let page = 4096;
    let map = MapAlloc::builder().guard_pages(0, 1).build().unwrap();
    let object = Layout::from_size_align(page / 4, 8).unwrap();
    let mut c = SlabBuilder::new("guarded")
        .layout(object)
        .out_of_line_metadata(true)
        .build_untyped(MapUntyped::new(map, Layout::from_size_align(page, page).unwrap()).unwrap())
        .unwrap();
    assert_eq!(c.objects_per_slab(), 4);
    let objs: Vec<_> = (0..4).map(|_| c.alloc().unwrap()).collect();
    let last = *objs.iter().max().unwrap();
    if crate::child::role().as_deref() == Some("guard-overrun") {
        // SAFETY: none: this write runs one byte past the slab, onto the
        // guard page, and must kill this child process.
        unsafe { last.add(page / 4).write_volatile(1) };
        std::process::exit(0);
    }
    for o in objs {
        // SAFETY: from `c`, freed once.
        unsafe { c.try_dealloc(o) }.unwrap();
    }
    let out = crate::child::run(
        "placement::out_of_line_overrun_hits_the_guard_page",
        "guard-overrun",
    );
    assert_eq!(
        out.status.signal(),
        Some(libc_sigsegv()),
        "child: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SIGSEGV's number on Linux.
#[cfg(not(miri))]
const fn libc_sigsegv() -> i32 {
    11
}
