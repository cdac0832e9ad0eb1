//! The object-alloc-test suites on all three interfaces, with the settings
//! that change how mappings are made.
//!
//! Miri emulates anonymous read-write `mmap`, whole-mapping `munmap` and
//! `mremap`, so under Miri only the plain untyped suite runs (its layouts
//! stay within a page's alignment there); reservations (`PROT_NONE`),
//! partial unmaps, `madvise` and files are the kernel's to check.

use std::alloc::Layout;

use mmap_alloc::{MapAlloc, MapUntyped};
use object_alloc_test::shared_untyped_suite;

fn untyped(map: MapAlloc, layout: Layout) -> MapUntyped {
    MapUntyped::new(map, layout).expect("the suite's layouts are not zero-sized")
}

shared_untyped_suite!(untyped_plain, |layout| untyped(MapAlloc::new(), layout));

#[cfg(not(miri))]
mod kernel {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use mmap_alloc::{HugePages, MapAlloc};
    use object_alloc_test::{global_alloc_suite, shared_allocator_suite, shared_untyped_suite};

    use super::untyped;

    fn guarded() -> MapAlloc {
        MapAlloc::builder()
            .guard_pages(1, 2)
            .build()
            .expect("guard pages are valid settings")
    }

    fn transparent() -> MapAlloc {
        MapAlloc::builder()
            .huge_pages(HugePages::Transparent)
            .build()
            .expect("valid settings")
    }

    fn file_backed() -> MapAlloc {
        static FILES: AtomicUsize = AtomicUsize::new(0);
        let n = FILES.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("mmap-alloc-suite-{}-{n}", std::process::id()));
        let map = MapAlloc::builder()
            .file(&path)
            .build()
            .expect("the temporary directory is writable");
        // The allocator keeps its descriptor; the name is not needed.
        std::fs::remove_file(&path).expect("the file was just created");
        map
    }

    shared_untyped_suite!(untyped_guarded, |layout| untyped(guarded(), layout));
    shared_untyped_suite!(untyped_transparent, |layout| untyped(transparent(), layout));

    static PAGES: MapAlloc = MapAlloc::new();
    global_alloc_suite!(global_static, static PAGES);
    global_alloc_suite!(global_guarded, guarded());

    shared_allocator_suite!(allocator_plain, MapAlloc::new());
    shared_allocator_suite!(allocator_guarded, guarded());
    shared_allocator_suite!(allocator_transparent, transparent());

    /// The suites over a file-backed allocator. Every mapping reserves disk
    /// blocks and every unmap punches them out again, a file-system
    /// transaction each, so these run a sample of the layouts and shorter
    /// sequences than the anonymous suites.
    mod file {
        use object_alloc_test::{Config, allocator, global, object_layouts, report, untyped};

        use super::{file_backed, untyped};

        fn config() -> Config {
            Config {
                ops: Config::from_env().ops.min(10_000),
                ..Config::from_env()
            }
        }

        fn sample() -> Vec<std::alloc::Layout> {
            object_layouts().into_iter().step_by(7).collect()
        }

        #[test]
        fn untyped_suite() {
            let make = |layout| untyped(file_backed(), layout);
            report(untyped::layout(make, &sample()));
            report(untyped::blocks(make, &sample(), &config()));
            report(untyped::random(make, &sample(), &config()));
            report(untyped::threads(make, &sample(), &config()));
        }

        #[test]
        fn global_alloc_suite() {
            let map = file_backed();
            report(global::layouts(&map));
            report(global::zeroed(&map));
            report(global::realloc(&map));
            report(global::random(&map, &config()));
            report(global::threads(&map, &config()));
        }

        #[test]
        fn allocator_suite() {
            let map = file_backed();
            report(allocator::layouts(&map));
            report(allocator::zeroed(&map));
            report(allocator::grow_shrink(&map));
            report(allocator::random(&map, &config()));
            report(allocator::threads(&map, &config()));
        }
    }
}
