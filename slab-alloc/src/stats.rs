//! Per-cache statistics: plain counters, snapshot on request.

/// A snapshot of one cache's counters, from
/// [`UntypedSlabAlloc::stats`](crate::UntypedSlabAlloc::stats) or
/// [`SlabAlloc::stats`](crate::SlabAlloc::stats).
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
/// use slab_alloc::{SlabBuilder, slab_layout_for};
///
/// let object = Layout::new::<[u64; 4]>();
/// let mut cache = SlabBuilder::new("quads")
///     .layout(object)
///     .build_untyped(GlobalUntyped::system(slab_layout_for(object)))
///     .unwrap();
/// let a = cache.alloc().unwrap();
/// let s = cache.stats();
/// assert_eq!((s.objects_allocated, s.objects_live, s.slabs), (1, 1, 1));
/// // SAFETY: `a` came from `cache`.
/// unsafe { cache.dealloc(a) };
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Objects handed out, ever.
    pub objects_allocated: u64,
    /// Objects taken back, ever.
    pub objects_freed: u64,
    /// Objects handed out now.
    pub objects_live: u64,
    /// Slabs held from the backing.
    pub slabs: usize,
    /// Of those, slabs with no object handed out.
    pub empty_slabs: usize,
    /// Blocks from the backing that hold out-of-line slab metadata (0 when
    /// the metadata is inline).
    pub metadata_blocks: usize,
    /// Bytes held from the backing: `slabs + metadata_blocks` times the
    /// slab size.
    pub bytes_held: usize,
    /// Constructor calls (typed caches; 0 for untyped ones).
    pub constructions: u64,
}
