//! `MapUntyped`: mappings of one layout, the slab-backing interface.

use core::alloc::Layout;
use core::ptr::NonNull;

use object_alloc::{AllocError, SharedUntypedObjectAlloc, UntypedObjectAlloc};

use crate::error::BuildError;
use crate::map::MapAlloc;

/// A [`MapAlloc`] that maps blocks of one [`Layout`]: the backing a slab
/// allocator takes its slabs from.
///
/// ```
/// use core::alloc::Layout;
/// use mmap_alloc::{MapAlloc, MapUntyped};
/// use object_alloc::SharedUntypedObjectAlloc;
///
/// // 64 KiB slabs aligned to their size, so a slab is found by masking.
/// let slabs = MapUntyped::new(MapAlloc::new(), Layout::from_size_align(64 << 10, 64 << 10).unwrap()).unwrap();
/// let slab = slabs.alloc().unwrap();
/// assert_eq!(slab.as_ptr() as usize % (64 << 10), 0);
/// // SAFETY: `slab` came from `slabs` and is not used again.
/// unsafe { slabs.dealloc(slab) };
/// ```
#[derive(Debug)]
pub struct MapUntyped {
    map: MapAlloc,
    layout: Layout,
}

impl MapUntyped {
    /// An allocator of `layout`-sized mappings from `map`.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroSize`] for a zero-size layout, which no mapping
    /// can serve.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use mmap_alloc::{BuildError, MapAlloc, MapUntyped};
    ///
    /// let empty = Layout::from_size_align(0, 8).unwrap();
    /// assert_eq!(MapUntyped::new(MapAlloc::new(), empty).unwrap_err(), BuildError::ZeroSize);
    /// ```
    pub fn new(map: MapAlloc, layout: Layout) -> Result<Self, BuildError> {
        if layout.size() == 0 {
            return Err(BuildError::ZeroSize);
        }
        Ok(MapUntyped { map, layout })
    }

    /// The page allocator underneath.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use mmap_alloc::{MapAlloc, MapUntyped};
    ///
    /// let slabs = MapUntyped::new(MapAlloc::new(), Layout::from_size_align(4096, 4096).unwrap()).unwrap();
    /// assert_eq!(slabs.map_alloc().guard_pages(), (0, 0));
    /// ```
    pub fn map_alloc(&self) -> &MapAlloc {
        &self.map
    }
}

// SAFETY: every block is a fresh mapping of `layout.size()` bytes aligned to
// `layout.align()`, distinct from every live one until it is unmapped.
unsafe impl UntypedObjectAlloc for MapUntyped {
    fn layout(&self) -> Layout {
        self.layout
    }

    #[inline]
    fn alloc(&mut self) -> Result<NonNull<u8>, AllocError> {
        SharedUntypedObjectAlloc::alloc(self)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>) {
        // SAFETY: forwarded from the caller.
        unsafe { SharedUntypedObjectAlloc::dealloc(self, ptr) }
    }
}

// SAFETY: `MapAlloc` keeps no per-mapping state, so concurrent calls only
// meet in the kernel, which serialises them.
unsafe impl SharedUntypedObjectAlloc for MapUntyped {
    #[inline]
    fn alloc(&self) -> Result<NonNull<u8>, AllocError> {
        self.map
            .map(self.layout.size(), self.layout.align())
            .map_err(|_| AllocError)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: NonNull<u8>) {
        // SAFETY: the caller passes a block of this allocator, mapped with
        // `layout.size()`. See `GlobalAlloc::dealloc` for why the result is
        // ignored.
        let _ = unsafe { self.map.unmap(ptr, self.layout.size()) };
    }
}
