//! Configurations the builder refuses, each with its reason.

use core::alloc::Layout;

use object_alloc::GlobalUntyped;
use slab_alloc::{ConfigError, SlabBuilder};

fn slab(size: usize, align: usize) -> GlobalUntyped<std::alloc::System> {
    GlobalUntyped::system(Layout::from_size_align(size, align).unwrap())
}

#[test]
fn refused_configurations() {
    let obj = Layout::new::<[u8; 64]>();
    let b = SlabBuilder::new("cfg");
    assert_eq!(
        b.build_untyped(slab(4096, 4096)).unwrap_err(),
        ConfigError::NoLayout
    );
    assert_eq!(
        b.layout(Layout::new::<()>())
            .build_untyped(slab(4096, 4096))
            .unwrap_err(),
        ConfigError::ZeroSizeObject
    );
    assert_eq!(
        b.layout(Layout::from_size_align(8192, 8192).unwrap())
            .build_untyped(slab(4096, 4096))
            .unwrap_err(),
        ConfigError::AlignAboveSlab {
            align: 8192,
            slab_size: 4096
        }
    );
    let err = b.layout(obj).build_untyped(slab(4096, 4)).unwrap_err();
    assert_eq!(
        err,
        ConfigError::BackingUnderaligned {
            align: 4,
            needed: core::mem::align_of::<usize>()
        }
    );
    assert!(
        err.to_string().contains("aligns blocks to 4 bytes"),
        "{err}"
    );
    assert_eq!(
        b.layout(Layout::from_size_align(64, 64).unwrap())
            .build_untyped(slab(4096, 16))
            .unwrap_err(),
        ConfigError::BackingUnderaligned {
            align: 16,
            needed: 64
        }
    );
    assert_eq!(
        b.layout(obj)
            .slab_size(8192)
            .build_untyped(slab(4096, 4096))
            .unwrap_err(),
        ConfigError::BackingMismatch {
            slab_size: 8192,
            backing: Layout::from_size_align(4096, 4096).unwrap()
        }
    );
    let err = b
        .layout(Layout::from_size_align(2048, 2048).unwrap())
        .build_untyped(slab(4096, 4096))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::TooFewObjects {
            fits: 1,
            slab_size: 4096
        }
    );
    assert!(err.to_string().contains("at least 2"), "{err}");
    // Out of line, the metadata record must fit in one block too.
    let err = b
        .layout(Layout::new::<u8>())
        .out_of_line_metadata(true)
        .build_untyped(slab(64, 64))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::TooFewObjects {
            fits: 0,
            slab_size: 64
        }
    );
    let err = b
        .build::<[u8; 3000], _, _>(|| [0; 3000], slab(4096, 4096))
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::TooFewObjects {
            fits: 1,
            slab_size: 4096
        }
    );
}

/// With the pointer-to-slab map (`alloc`), slabs need not be aligned to
/// their size nor be a power of two (without it the builder refuses them:
/// the crate's own `no_alloc` unit tests).
#[test]
fn unaligned_slabs_are_accepted() {
    let obj = Layout::new::<[u8; 64]>();
    let cache = SlabBuilder::new("cfg")
        .layout(obj)
        .build_untyped(slab(3 * 4096, 64))
        .unwrap();
    assert!(cache.objects_per_slab() >= 170);
    let cache = SlabBuilder::new("cfg")
        .layout(obj)
        .build_untyped(slab(4096, 64))
        .unwrap();
    assert!(cache.objects_per_slab() >= 55);
}
