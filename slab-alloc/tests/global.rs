//! Slab caches inside this process's global allocator.
//!
//! A global allocator built on the caches is the use the crate must survive:
//! when a cache gains a slab it records it in its pointer-to-slab map and in
//! the process-wide registry, under the registry's lock. If those tables
//! grew through the global allocator, the growth would come back here, ask a
//! cache for a slab, and wait forever on the registry lock it already
//! holds. With `std` the tables come from bsalloc instead, and this binary
//! runs a std-heavy workload (collections, strings, threads, channels,
//! cross-thread frees) on the caches. A hang would start before `main`
//! (std's runtime allocates first), so an `.init_array` entry arms
//! `alarm(2)` before any Rust code runs: a hang dies of SIGALRM instead of
//! blocking the run. The binary has its own `main` (no test harness).
//!
//! Not under Miri, where `main` only says so: the slabs are mmap-alloc
//! mappings aligned to 64 KiB, which need the `PROT_NONE` reservations Miri
//! does not emulate, and the global allocator serves the whole binary.

#[cfg(not(miri))]
#[path = "common/deadline.rs"]
mod deadline;
#[cfg(not(miri))]
#[path = "common/workload.rs"]
mod workload;

fn main() {
    #[cfg(not(miri))]
    on_slabs::run();
    #[cfg(miri)]
    println!("slab-alloc global test: skipped under Miri (no 64 KiB-aligned mappings)");
}

#[cfg(not(miri))]
mod on_slabs {

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::OnceLock;

    use mmap_alloc::{MapAlloc, MapUntyped};
    use object_alloc::SharedUntypedObjectAlloc;
    use slab_alloc::{Locked, SlabBuilder, SpinLock, UntypedSlabAlloc, slab_layout_for};

    /// The block sizes the caches serve; larger or more aligned requests go to
    /// the system heap.
    const CLASSES: [usize; 5] = [16, 64, 256, 1024, 4096];
    const ALIGN: usize = 16;

    type Class = Locked<UntypedSlabAlloc<MapUntyped>, SpinLock>;

    /// One shared slab cache per class, built on first use, slabs from mmap.
    struct SlabGlobal {
        classes: [OnceLock<Class>; CLASSES.len()],
    }

    impl SlabGlobal {
        /// The class serving `layout`, built if this is its first request.
        fn class(&self, layout: Layout) -> Option<&Class> {
            if layout.align() > ALIGN {
                return None;
            }
            let i = CLASSES.iter().position(|&c| layout.size() <= c)?;
            Some(self.classes[i].get_or_init(|| {
                let object = Layout::from_size_align(CLASSES[i], ALIGN).unwrap();
                let backing = MapUntyped::new(MapAlloc::new(), slab_layout_for(object)).unwrap();
                let cache = SlabBuilder::new("global")
                    .layout(object)
                    .build_untyped(backing)
                    .unwrap();
                Locked::new(cache)
            }))
        }
    }

    // SAFETY: a block of a class is a block of that class's cache, at least as
    // large and as aligned as the layout; everything else is the system heap's.
    // A block goes back to where the same layout sent it.
    unsafe impl GlobalAlloc for SlabGlobal {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match self.class(layout) {
                Some(class) => class.alloc().map_or(std::ptr::null_mut(), |b| b.as_ptr()),
                // SAFETY: forwarded from the caller.
                None => unsafe { System.alloc(layout) },
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            match self.class(layout) {
                // SAFETY: the same layout picked the same class at `alloc`; the
                // cache checks the free anyway.
                Some(class) => unsafe { class.dealloc(std::ptr::NonNull::new_unchecked(ptr)) },
                // SAFETY: forwarded from the caller.
                None => unsafe { System.dealloc(ptr, layout) },
            }
        }
    }

    #[global_allocator]
    static GLOBAL: SlabGlobal = SlabGlobal {
        classes: [const { OnceLock::new() }; CLASSES.len()],
    };

    pub(crate) fn run() {
        let rounds = 2_000;
        let chars = crate::workload::run(4, rounds, 300);
        let served: u64 = GLOBAL
            .classes
            .iter()
            .filter_map(OnceLock::get)
            .map(|c| c.with(|c| c.stats().objects_allocated))
            .sum();
        assert!(
            served > rounds as u64,
            "the caches served the workload: {served}"
        );
        println!("std ran on slab caches: {served} blocks served, {chars} bytes of strings sent");
    }
}
