//! `BsAlloc`: the two size classes and the page mappings behind one
//! allocator, and its `GlobalAlloc` and `Allocator` faces.

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::{self, NonNull};

use allocator_api2::alloc::{AllocError, Allocator};

use crate::class::Class;
use crate::pages;

/// Block size of the small class, in bytes.
const SMALL_SIZE: usize = 64;
/// Block size of the large class, in bytes.
const LARGE_SIZE: usize = 4096;
/// Blocks in the small class's arena (2 MiB of blocks).
#[cfg(not(miri))]
const SMALL_BLOCKS: usize = 32 * 1024;
/// Blocks in the large class's arena (8 MiB of blocks).
#[cfg(not(miri))]
const LARGE_BLOCKS: usize = 2 * 1024;
// Under Miri the arenas are small, so that tests (and the conformance
// suite) reach used-up classes and their fall-through paths within Miri's
// budget.
#[cfg(miri)]
const SMALL_BLOCKS: usize = 64;
#[cfg(miri)]
const LARGE_BLOCKS: usize = 16;

/// Where a live block lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Home {
    /// The dangling pointer of a zero-size block.
    Nowhere,
    /// Block `index` of the small class.
    Small(u32),
    /// Block `index` of the large class.
    Large(u32),
    /// A mapping of its own.
    Pages,
}

/// A bootstrap allocator: `const`-constructible, thread-safe and lock-free,
/// and it never calls `malloc`.
///
/// Requests of at most 64 bytes (size and alignment) take a block of the
/// small class, those of at most 4 KiB a block of the large class, and
/// larger ones a mapping of their own; a class whose arena is used up hands
/// its requests to the next. The [crate documentation](crate) describes the
/// design and the measurement behind the two sizes.
///
/// Each `BsAlloc` is a heap of its own: blocks go back to the allocator they
/// came from, from any thread. Share one by reference (`&BsAlloc` is an
/// [`Allocator`] too) or put it in a `static`.
///
/// # Examples
///
/// As the global allocator of a program (only a binary's own
/// `#[global_allocator]` line does this; linking the crate does not):
///
/// ```
/// use bsalloc::BsAlloc;
///
/// #[global_allocator]
/// static GLOBAL: BsAlloc = BsAlloc::new();
///
/// let v: Vec<u32> = (0..1000).collect();
/// assert_eq!(v.iter().sum::<u32>(), 499_500);
/// ```
///
/// As an `allocator_api2` allocator for one collection:
///
/// ```
/// use allocator_api2::vec::Vec;
/// use bsalloc::BsAlloc;
///
/// let heap = BsAlloc::new();
/// let mut v = Vec::new_in(&heap);
/// v.extend_from_slice(b"bootstrap");
/// assert_eq!(&v[..], b"bootstrap");
/// ```
pub struct BsAlloc {
    // Both classes are read by the fast paths.
    small: Class<SMALL_SIZE, SMALL_BLOCKS>,
    large: Class<LARGE_SIZE, LARGE_BLOCKS>,
}

impl BsAlloc {
    /// The block size of the small class: requests whose size and alignment
    /// are at most this many bytes take one of its blocks.
    ///
    /// ```
    /// assert_eq!(bsalloc::BsAlloc::SMALL_SIZE, 64);
    /// ```
    pub const SMALL_SIZE: usize = SMALL_SIZE;

    /// The block size of the large class: requests above the small class
    /// whose size and alignment are at most this many bytes take one of its
    /// blocks; larger ones are mapped from the kernel.
    ///
    /// ```
    /// assert_eq!(bsalloc::BsAlloc::LARGE_SIZE, 4096);
    /// ```
    pub const LARGE_SIZE: usize = LARGE_SIZE;

    /// How many blocks the small class's arena holds (32,768: 2 MiB of
    /// blocks; 64 under Miri); with all of them in use, small requests take
    /// large blocks.
    ///
    /// ```
    /// use bsalloc::BsAlloc;
    /// let arena_bytes = BsAlloc::SMALL_BLOCKS * BsAlloc::SMALL_SIZE;
    /// assert!(arena_bytes <= 2 << 20);
    /// ```
    pub const SMALL_BLOCKS: usize = SMALL_BLOCKS;

    /// How many blocks the large class's arena holds (2,048: 8 MiB of
    /// blocks; 16 under Miri); with all of them in use, its requests are
    /// mapped from the kernel.
    ///
    /// ```
    /// use bsalloc::BsAlloc;
    /// let arena_bytes = BsAlloc::LARGE_BLOCKS * BsAlloc::LARGE_SIZE;
    /// assert!(arena_bytes <= 8 << 20);
    /// ```
    pub const LARGE_BLOCKS: usize = LARGE_BLOCKS;

    /// An empty heap. Nothing is mapped until the first allocation.
    ///
    /// ```
    /// use bsalloc::BsAlloc;
    ///
    /// static HEAP: BsAlloc = BsAlloc::new();
    /// let boxed = allocator_api2::boxed::Box::new_in(7u64, &HEAP);
    /// assert_eq!(*boxed, 7);
    /// ```
    pub const fn new() -> Self {
        BsAlloc {
            small: Class::new(),
            large: Class::new(),
        }
    }

    /// Allocates a block for `layout`, and returns it with its usable length
    /// (the whole block, at least `layout.size()`).
    ///
    /// The fast path is a request popped off its class's free stack: the
    /// zero-size test, one or two compares, and the stack's pop (two loads, a
    /// relaxed link load and one compare-exchange). A used-up class, zero
    /// sizes and mappings are in [`Self::alloc_slow`].
    #[inline]
    fn alloc_block(&self, layout: Layout) -> Option<(NonNull<u8>, usize)> {
        if layout.size() != 0 {
            let want = layout.size().max(layout.align());
            if want <= SMALL_SIZE {
                if let Some(block) = self.small.alloc() {
                    return Some((block, SMALL_SIZE));
                }
            } else if want <= LARGE_SIZE {
                if let Some(block) = self.large.alloc() {
                    return Some((block, LARGE_SIZE));
                }
            }
        }
        self.alloc_slow(layout)
    }

    /// Frees a block. The fast path is a block of its own class: the
    /// zero-size test, one or two compares, the arena bounds check and the
    /// stack's push (a relaxed store and one compare-exchange).
    ///
    /// # Safety
    ///
    /// - `block` was allocated by this heap with `layout` (after a resize,
    ///   the new size and the same alignment) and is freed once.
    /// - Nothing uses the block afterwards.
    #[inline]
    unsafe fn dealloc_block(&self, block: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            let want = layout.size().max(layout.align());
            if want <= SMALL_SIZE {
                if let Some(index) = self.small.index_of(block) {
                    // SAFETY: the caller frees a block this heap handed out,
                    // once; `index_of` found it in the small class.
                    unsafe { self.small.dealloc(index) };
                    return;
                }
            } else if want <= LARGE_SIZE {
                if let Some(index) = self.large.index_of(block) {
                    // SAFETY: as above, in the large class.
                    unsafe { self.large.dealloc(index) };
                    return;
                }
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.dealloc_slow(block, layout) }
    }

    /// Everything the fast path leaves: zero-size blocks, a used-up class
    /// (whose requests try the large class, then a mapping), and requests
    /// above the large class.
    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, layout: Layout) -> Option<(NonNull<u8>, usize)> {
        if layout.size() == 0 {
            return Some((dangling(layout), 0));
        }
        // A small request is here because the small class is used up; a
        // large one finds its class used up again (unless a block was freed
        // meanwhile) and goes on to a mapping.
        if layout.size().max(layout.align()) <= LARGE_SIZE {
            if let Some(block) = self.large.alloc() {
                return Some((block, LARGE_SIZE));
            }
        }
        pages::alloc(layout)
    }

    /// Frees what the fast path does not: zero-size blocks, blocks that a
    /// used-up class sent to a larger home, and mappings.
    ///
    /// # Safety
    ///
    /// As [`Self::dealloc_block`].
    #[cold]
    #[inline(never)]
    unsafe fn dealloc_slow(&self, block: NonNull<u8>, layout: Layout) {
        match self.home(block, layout) {
            Home::Nowhere => {}
            // SAFETY: the caller frees a block this heap handed out, once;
            // `home` found it in the small class.
            Home::Small(index) => unsafe { self.small.dealloc(index) },
            // SAFETY: as above, in the large class.
            Home::Large(index) => unsafe { self.large.dealloc(index) },
            // SAFETY: in neither arena, so `pages::alloc` or `pages::resize`
            // mapped it for this layout (the caller's promise).
            Home::Pages => unsafe { pages::dealloc(block, layout) },
        }
    }

    /// Where a live block of `layout` lives. A request can only have been
    /// served by its own class or a larger one, so only those are searched.
    #[inline]
    fn home(&self, block: NonNull<u8>, layout: Layout) -> Home {
        if layout.size() == 0 {
            return Home::Nowhere;
        }
        let want = layout.size().max(layout.align());
        if want <= SMALL_SIZE {
            if let Some(index) = self.small.index_of(block) {
                return Home::Small(index);
            }
        }
        if want <= LARGE_SIZE {
            if let Some(index) = self.large.index_of(block) {
                return Home::Large(index);
            }
        }
        Home::Pages
    }

    /// Allocates a zeroed block: class blocks (at most `LARGE_SIZE` bytes)
    /// are cleared over their whole usable length; mappings larger than that
    /// are fresh from the kernel, zero already.
    #[inline]
    fn alloc_zeroed_block(&self, layout: Layout) -> Option<(NonNull<u8>, usize)> {
        let (block, usable) = self.alloc_block(layout)?;
        if usable <= LARGE_SIZE {
            // SAFETY: the block has `usable` writable bytes (none for a
            // zero-size block).
            unsafe { block.as_ptr().write_bytes(0, usable) };
        }
        Some((block, usable))
    }

    /// Resizes a block to `new_size` bytes, keeping `min(old, new)` bytes of
    /// its contents, and returns it with its usable length. A block stays
    /// where it is when the new size still belongs there; it moves to a
    /// smaller class when it shrinks into one (and that class has room); a
    /// mapping grows or shrinks by `mremap`. `None` leaves the block as it
    /// was.
    ///
    /// # Safety
    ///
    /// - `block` is a live block of this heap allocated with `old`.
    /// - On success the old block is no longer used; the new one is freed
    ///   with the layout of `new_size` and `old.align()`.
    #[cold]
    #[inline(never)]
    unsafe fn resize(
        &self,
        block: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Option<(NonNull<u8>, usize)> {
        let new = Layout::from_size_align(new_size, old.align()).ok()?;
        if new_size == 0 {
            // SAFETY: the caller hands over a live block of `old`.
            unsafe { self.dealloc_block(block, old) };
            return Some((dangling(new), 0));
        }
        let want = new_size.max(old.align());
        let kept = old.size().min(new_size);
        match self.home(block, old) {
            Home::Small(_) if want <= SMALL_SIZE => {
                return Some((block, SMALL_SIZE));
            }
            Home::Large(_) if want <= LARGE_SIZE => {
                if want > SMALL_SIZE {
                    return Some((block, LARGE_SIZE));
                }
                // Shrunk into the small class: move there if it has room,
                // so a small block does not hold a large one.
                let Some(small) = self.small.alloc() else {
                    return Some((block, LARGE_SIZE));
                };
                // SAFETY: `kept <= SMALL_SIZE` bytes of the live old block
                // fit in the fresh small block; they are distinct.
                unsafe {
                    small
                        .as_ptr()
                        .copy_from_nonoverlapping(block.as_ptr(), kept)
                };
                // SAFETY: the old block, freed once.
                unsafe { self.dealloc_slow(block, old) };
                return Some((small, SMALL_SIZE));
            }
            Home::Pages if want > LARGE_SIZE => {
                // SAFETY: a mapped block of `old`, handed over by the caller.
                return unsafe { pages::resize(block, old, new_size) };
            }
            Home::Pages => {
                // Shrunk into a class. If the classes are used up, the block
                // stays a mapping, resized to the new layout.
                if let Some((moved, usable)) = self.alloc_block(new) {
                    if self.home(moved, new) != Home::Pages {
                        // SAFETY: `kept` bytes of the live old block fit in
                        // the new block; they are distinct.
                        unsafe {
                            moved
                                .as_ptr()
                                .copy_from_nonoverlapping(block.as_ptr(), kept)
                        };
                        // SAFETY: the old block, freed once.
                        unsafe { pages::dealloc(block, old) };
                        return Some((moved, usable));
                    }
                    // SAFETY: the mapping just made for `new`, never used.
                    unsafe { pages::dealloc(moved, new) };
                }
                // SAFETY: a mapped block of `old`, handed over by the caller.
                return unsafe { pages::resize(block, old, new_size) };
            }
            _ => {}
        }
        // Zero-size blocks and moves to a larger home: allocate, copy, free.
        let (moved, usable) = self.alloc_block(new)?;
        // SAFETY: both blocks are live and distinct, and each holds at least
        // `kept` bytes (a zero-size block is aligned and copies nothing).
        unsafe {
            moved
                .as_ptr()
                .copy_from_nonoverlapping(block.as_ptr(), kept)
        };
        // SAFETY: the old block, freed once.
        unsafe { self.dealloc_block(block, old) };
        Some((moved, usable))
    }
}

/// The block of a zero-size layout: its alignment as an address, with no
/// provenance; never dereferenced, never freed.
#[inline]
fn dangling(layout: Layout) -> NonNull<u8> {
    // SAFETY: an alignment is never zero.
    unsafe { NonNull::new_unchecked(ptr::without_provenance_mut(layout.align())) }
}

impl Default for BsAlloc {
    /// Same as [`BsAlloc::new`].
    ///
    /// ```
    /// let heap = bsalloc::BsAlloc::default();
    /// let v = allocator_api2::vec::Vec::<u8, _>::with_capacity_in(10, &heap);
    /// assert!(v.capacity() >= 10);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for BsAlloc {
    /// Shows how many blocks of each class have been carved so far.
    ///
    /// ```
    /// let heap = bsalloc::BsAlloc::new();
    /// assert_eq!(format!("{heap:?}"), "BsAlloc { small_carved: 0, large_carved: 0 }");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BsAlloc")
            .field("small_carved", &self.small.carved())
            .field("large_carved", &self.large.carved())
            .finish()
    }
}

// SAFETY: blocks come from the classes' arenas (each block handed to one
// caller until it is freed, aligned to its block size, which is at least the
// request's size and alignment) or from mappings of their own (aligned as
// asked by construction in `pages`), so they are valid, aligned and disjoint
// until freed. Every method takes `&self` and the classes are lock-free
// atomics, so calls from any thread are sound, including frees of blocks
// another thread allocated. Nothing here unwinds or calls `malloc`.
unsafe impl GlobalAlloc for BsAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.alloc_block(layout) {
            Some((block, _)) => block.as_ptr(),
            None => ptr::null_mut(),
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.alloc_zeroed_block(layout) {
            Some((block, _)) => block.as_ptr(),
            None => ptr::null_mut(),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(block) = NonNull::new(ptr) {
            // SAFETY: the caller frees a block of this heap with its layout.
            unsafe { self.dealloc_block(block, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(block) = NonNull::new(ptr) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller resizes a live block of this heap allocated with
        // `layout`, and frees the result with `new_size` and the same
        // alignment.
        match unsafe { self.resize(block, layout, new_size) } {
            Some((moved, _)) => moved.as_ptr(),
            None => ptr::null_mut(),
        }
    }
}

// SAFETY: as for `GlobalAlloc` above. Zero-size blocks are dangling, aligned
// pointers that are never freed; every other block stays valid until it is
// deallocated or the heap is dropped (dropping unmaps the class arenas, and
// `BsAlloc` is not `Clone`, so no copy outlives it). The length returned is
// the whole block, all of it usable.
unsafe impl Allocator for BsAlloc {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let (block, usable) = self.alloc_block(layout).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(block, usable))
    }

    #[inline]
    fn allocate_zeroed(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let (block, usable) = self.alloc_zeroed_block(layout).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(block, usable))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller frees a block of this heap with a layout that
        // fits it; a block is found by address and by the classes its
        // layout's size and alignment allow, both fixed at allocation.
        unsafe { self.dealloc_block(ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.change(ptr, old_layout, new_layout) }
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        let block = unsafe { self.change(ptr, old_layout, new_layout) }?;
        let start = old_layout.size();
        let tail = block.len() - start;
        // SAFETY: the block has `block.len() >= new_layout.size() >= start`
        // usable bytes; zeroing from the old size on is allowed whatever the
        // old block's length was.
        unsafe { block.cast::<u8>().add(start).as_ptr().write_bytes(0, tail) };
        Ok(block)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.change(ptr, old_layout, new_layout) }
    }
}

impl BsAlloc {
    /// `grow` and `shrink`: a resize when the alignment stays, otherwise a
    /// move to a block of the new layout.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this heap allocated with `old`.
    unsafe fn change(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let (block, usable) = if new.align() == old.align() {
            // SAFETY: forwarded from the caller; the result is freed with
            // `new`, which has the old alignment.
            unsafe { self.resize(ptr, old, new.size()) }
        } else {
            self.alloc_block(new).map(|(moved, usable)| {
                // SAFETY: distinct live blocks, each holding at least
                // `min(old, new)` bytes.
                unsafe {
                    moved
                        .as_ptr()
                        .copy_from_nonoverlapping(ptr.as_ptr(), old.size().min(new.size()));
                }
                // SAFETY: the old block, freed once.
                unsafe { self.dealloc_block(ptr, old) };
                (moved, usable)
            })
        }
        .ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(block, usable))
    }
}
