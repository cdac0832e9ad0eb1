//! The builder every cache is made with.

use core::alloc::Layout;
use core::marker::PhantomData;

use object_alloc::{DefaultInit, Init, UntypedObjectAlloc};

use crate::cache::{Cache, Geometry, HEADER_ALIGN, Policy};
use crate::error::{ConfigError, ErrorHook, abort_on_error};
use crate::typed::{SlabAlloc, drop_fn};
use crate::untyped::UntypedSlabAlloc;

/// How many empty slabs a cache keeps by default before returning them to
/// the backing.
pub const DEFAULT_MAX_EMPTY_SLABS: usize = 2;

/// A slab layout that suits objects of `object`: slabs of at least 64 KiB,
/// and big enough for 8 objects, aligned to their size.
///
/// ```
/// use core::alloc::Layout;
/// use slab_alloc::slab_layout_for;
///
/// assert_eq!(slab_layout_for(Layout::new::<u64>()).size(), 64 << 10);
/// assert_eq!(slab_layout_for(Layout::new::<[u8; 65536]>()).size(), 1 << 20);
/// ```
pub fn slab_layout_for(object: Layout) -> Layout {
    let stride = object.pad_to_align().size().max(1);
    let size = (8 * stride + stride.max(object.align()))
        .next_power_of_two()
        .max(64 << 10);
    Layout::from_size_align(size, size).expect("a power of two below isize::MAX")
}

/// Makes caches: a name, an object layout (untyped caches) or type (typed
/// caches), an initialiser (typed caches), the backing and a few policies.
///
/// The slab size is the backing's layout size. The backing's alignment must
/// suit the objects and a slab header (a word). With the `alloc` feature
/// (default) slabs may have any size and alignment: a pointer-to-slab map
/// finds an object's slab in O(1). Without it the slab size must be a power
/// of two and the backing must align slabs to it, so an object's slab is
/// found by masking its address.
///
/// ```
/// use core::alloc::Layout;
/// use object_alloc::{GlobalUntyped, ObjectAlloc};
/// use slab_alloc::{SlabBuilder, slab_layout_for};
///
/// let mut names = SlabBuilder::new("names")
///     .max_empty_slabs(1)
///     .build::<String, _, _>(|| String::with_capacity(32), GlobalUntyped::system(slab_layout_for(Layout::new::<String>())))
///     .unwrap();
/// let name = names.alloc().unwrap();
/// // SAFETY: a constructed `String` we own.
/// assert!(unsafe { name.as_ref() }.capacity() >= 32);
/// // SAFETY: from `names`, freed once, still a valid `String`.
/// unsafe { names.dealloc(name) };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SlabBuilder {
    name: &'static str,
    layout: Option<Layout>,
    slab_size: Option<usize>,
    max_empty: usize,
    hook: ErrorHook,
    type_stable: bool,
    out_of_line: bool,
    colouring: bool,
    tags: bool,
}

impl SlabBuilder {
    /// A builder for a cache called `name` (used in error messages).
    ///
    /// ```
    /// let builder = slab_alloc::SlabBuilder::new("inodes");
    /// # let _ = builder;
    /// ```
    pub const fn new(name: &'static str) -> Self {
        SlabBuilder {
            name,
            layout: None,
            slab_size: None,
            max_empty: DEFAULT_MAX_EMPTY_SLABS,
            hook: abort_on_error,
            type_stable: false,
            out_of_line: false,
            colouring: true,
            tags: false,
        }
    }

    /// The object layout of an untyped cache (typed caches use `T`'s).
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// let builder = slab_alloc::SlabBuilder::new("blocks").layout(Layout::from_size_align(24, 8).unwrap());
    /// # let _ = builder;
    /// ```
    pub const fn layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// The slab size, checked against the backing's layout (by default the
    /// backing's size is taken as it is).
    ///
    /// ```
    /// let builder = slab_alloc::SlabBuilder::new("blocks").slab_size(1 << 16);
    /// # let _ = builder;
    /// ```
    pub const fn slab_size(mut self, bytes: usize) -> Self {
        self.slab_size = Some(bytes);
        self
    }

    /// The working set of empty slabs: when a slab becomes empty and more
    /// than `n` are, the one empty the longest goes back to the backing
    /// (default [`DEFAULT_MAX_EMPTY_SLABS`]).
    ///
    /// ```
    /// let builder = slab_alloc::SlabBuilder::new("blocks").max_empty_slabs(0);
    /// # let _ = builder;
    /// ```
    pub const fn max_empty_slabs(mut self, n: usize) -> Self {
        self.max_empty = n;
        self
    }

    /// What the trait's `dealloc` calls on a bad free (default
    /// [`abort_on_error`]).
    ///
    /// ```
    /// fn log(err: &slab_alloc::FreeError) { eprintln!("ignored: {err}") }
    /// let builder = slab_alloc::SlabBuilder::new("blocks").error_hook(log);
    /// # let _ = builder;
    /// ```
    pub const fn error_hook(mut self, hook: ErrorHook) -> Self {
        self.hook = hook;
        self
    }

    /// A *type-stable* cache never returns a slab to the backing while it
    /// lives: no working set, and [`reap`](crate::UntypedSlabAlloc::reap)
    /// returns nothing. An address once handed out stays an object of this
    /// cache (free or allocated, holding a `T` that was constructed and not
    /// dropped) until the cache itself drops, so a reader that races with a
    /// free (a lock-free lookup that validates what it read afterwards) reads
    /// a valid object of the right type, never unmapped or reused memory.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, ObjectAlloc};
    /// use slab_alloc::{SlabBuilder, slab_layout_for};
    ///
    /// let mut nodes = SlabBuilder::new("nodes")
    ///     .type_stable(true)
    ///     .build_default::<u64, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<u64>())))
    ///     .unwrap();
    /// let n = nodes.alloc().unwrap();
    /// // SAFETY: from `nodes`, freed once.
    /// unsafe { nodes.dealloc(n) };
    /// assert_eq!(nodes.reap(), 0);
    /// assert_eq!(nodes.stats().slabs, 1);
    /// ```
    pub const fn type_stable(mut self, on: bool) -> Self {
        self.type_stable = on;
        self
    }

    /// Keeps slab metadata (header, free stack, bitmap) *out of line*: in
    /// records packed into separate metadata blocks taken from the same
    /// backing, not at the start of each slab. No overrun of an object can
    /// reach metadata by running off the end of its slab, and with a guarded
    /// [`mmap-alloc`](https://docs.rs/mmap-alloc) backing (guard pages after
    /// each mapping) it faults on the guard page first. Objects then use
    /// the whole slab. Needs the `alloc` feature (frees find the slab's
    /// record in the pointer-to-slab map).
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// use slab_alloc::SlabBuilder;
    ///
    /// let slab = Layout::from_size_align(4096, 4096).unwrap();
    /// let mut pages = SlabBuilder::new("quarter pages")
    ///     .layout(Layout::from_size_align(1024, 1024).unwrap())
    ///     .out_of_line_metadata(true)
    ///     .build_untyped(GlobalUntyped::system(slab))
    ///     .unwrap();
    /// // All four quarters of the slab hold objects.
    /// assert_eq!(pages.objects_per_slab(), 4);
    /// let p = pages.alloc().unwrap();
    /// // SAFETY: from `pages`, freed once.
    /// unsafe { pages.dealloc(p) };
    /// assert_eq!(pages.stats().metadata_blocks, 1);
    /// ```
    #[cfg(feature = "alloc")]
    pub const fn out_of_line_metadata(mut self, on: bool) -> Self {
        self.out_of_line = on;
        self
    }

    /// Whether successive slabs start their first object at successive
    /// cache-line offsets (on by default). Off, object `i` of every slab
    /// lies at the same offset from the slab base: what a caller that
    /// finds objects from their address without the cache (the zone, which
    /// checks frees before its thread caches) needs, at the price of the
    /// same object index of different slabs sharing cache sets.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, UntypedObjectAlloc};
    /// use slab_alloc::SlabBuilder;
    ///
    /// let slab = Layout::from_size_align(4096, 4096).unwrap();
    /// let mut cache = SlabBuilder::new("uncoloured")
    ///     .layout(Layout::from_size_align(48, 16).unwrap())
    ///     .colouring(false)
    ///     .build_untyped(GlobalUntyped::system(slab))
    ///     .unwrap();
    /// let offsets: Vec<usize> = (0..3)
    ///     .map(|_| {
    ///         // Fill a slab; its first object's offset from the slab base
    ///         // is the same every time.
    ///         let objs: Vec<_> = (0..cache.objects_per_slab()).map(|_| cache.alloc().unwrap()).collect();
    ///         objs[0].as_ptr() as usize % 4096
    ///     })
    ///     .collect();
    /// assert!(offsets.iter().all(|&o| o == offsets[0]));
    /// ```
    pub const fn colouring(mut self, on: bool) -> Self {
        self.colouring = on;
        self
    }

    /// The slab size asked for, if any.
    #[cfg(feature = "zone")]
    pub(crate) const fn requested_slab_size(&self) -> Option<usize> {
        self.slab_size
    }

    /// The layout asked for, if any.
    #[cfg(feature = "zone")]
    pub(crate) const fn requested_layout(&self) -> Option<Layout> {
        self.layout
    }

    /// The error hook.
    #[cfg(feature = "zone")]
    pub(crate) const fn hook(&self) -> ErrorHook {
        self.hook
    }

    /// Gives every slab a tag byte per object in its metadata, zeroed when
    /// the slab is made and otherwise left to the layer above (the shared
    /// caches mark which objects their users hold).
    #[cfg(feature = "zone")]
    pub(crate) const fn object_tags(mut self, on: bool) -> Self {
        self.tags = on;
        self
    }

    fn geometry(&self, object: Layout, backing: Layout) -> Result<Geometry, ConfigError> {
        let slab_size = self.slab_size.unwrap_or(backing.size());
        if object.size() == 0 {
            return Err(ConfigError::ZeroSizeObject);
        }
        if !cfg!(feature = "alloc") && !slab_size.is_power_of_two() {
            return Err(ConfigError::SlabSizeNotPowerOfTwo { slab_size });
        }
        if object.align() > slab_size {
            return Err(ConfigError::AlignAboveSlab {
                align: object.align(),
                slab_size,
            });
        }
        let aligned = slab_size.is_power_of_two() && backing.align() >= slab_size;
        if backing.size() != slab_size || (!cfg!(feature = "alloc") && !aligned) {
            return Err(ConfigError::BackingMismatch { slab_size, backing });
        }
        let needed = object.align().max(HEADER_ALIGN);
        if backing.align() < needed {
            return Err(ConfigError::BackingUnderaligned {
                align: backing.align(),
                needed,
            });
        }
        Geometry::new(object, slab_size, self.out_of_line, self.tags)
            .map(|g| if self.colouring { g } else { g.uncoloured() })
            .map_err(|fits| ConfigError::TooFewObjects { fits, slab_size })
    }

    fn policy(&self) -> Policy {
        Policy {
            hook: self.hook,
            // A type-stable cache keeps every empty slab.
            max_empty: if self.type_stable {
                usize::MAX
            } else {
                self.max_empty
            },
            type_stable: self.type_stable,
        }
    }

    /// Builds an untyped cache of [`layout`](Self::layout) blocks over
    /// `backing`.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] saying why the configuration cannot work.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::GlobalUntyped;
    /// use slab_alloc::{ConfigError, SlabBuilder};
    ///
    /// let slab = Layout::from_size_align(4096, 4096).unwrap();
    /// let err = SlabBuilder::new("x").build_untyped(GlobalUntyped::system(slab)).unwrap_err();
    /// assert_eq!(err, ConfigError::NoLayout);
    /// ```
    pub fn build_untyped<B: UntypedObjectAlloc>(
        self,
        backing: B,
    ) -> Result<UntypedSlabAlloc<B>, ConfigError> {
        let object = self.layout.ok_or(ConfigError::NoLayout)?;
        let geometry = self.geometry(object, backing.layout())?;
        Ok(UntypedSlabAlloc {
            core: Cache::new(self.name, geometry, backing, self.policy(), None),
        })
    }

    /// Builds a typed cache of `T`s, constructed by `init` (a closure,
    /// [`DefaultInit`], or [`NoInit`](object_alloc::NoInit) through its
    /// `unsafe` constructor), over `backing`.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] saying why the configuration cannot work.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::{GlobalUntyped, ObjectAlloc};
    /// use slab_alloc::{SlabBuilder, slab_layout_for};
    ///
    /// let mut cache = SlabBuilder::new("pairs")
    ///     .build::<(u32, u32), _, _>(|| (1, 2), GlobalUntyped::system(slab_layout_for(Layout::new::<(u32, u32)>())))
    ///     .unwrap();
    /// let p = cache.alloc().unwrap();
    /// // SAFETY: a constructed pair we own.
    /// assert_eq!(unsafe { *p.as_ptr() }, (1, 2));
    /// // SAFETY: from `cache`, freed once.
    /// unsafe { cache.dealloc(p) };
    /// ```
    pub fn build<T, I: Init<T>, B: UntypedObjectAlloc>(
        self,
        init: I,
        backing: B,
    ) -> Result<SlabAlloc<T, I, B>, ConfigError> {
        let geometry = self.geometry(Layout::new::<T>(), backing.layout())?;
        Ok(SlabAlloc {
            core: Cache::new(self.name, geometry, backing, self.policy(), drop_fn::<T>()),
            init,
            _objects: PhantomData,
        })
    }

    /// [`build`](Self::build) with `T::default()` as the constructor.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] saying why the configuration cannot work.
    ///
    /// ```
    /// use core::alloc::Layout;
    /// use object_alloc::GlobalUntyped;
    /// use slab_alloc::{SlabBuilder, slab_layout_for};
    ///
    /// let cache = SlabBuilder::new("vecs")
    ///     .build_default::<Vec<u8>, _>(GlobalUntyped::system(slab_layout_for(Layout::new::<Vec<u8>>())))
    ///     .unwrap();
    /// assert_eq!(cache.stats().slabs, 0);
    /// ```
    pub fn build_default<T: Default, B: UntypedObjectAlloc>(
        self,
        backing: B,
    ) -> Result<SlabAlloc<T, DefaultInit, B>, ConfigError> {
        self.build(DefaultInit, backing)
    }
}

/// What the builder refuses without the pointer-to-slab map (run with
/// `cargo test -p slab-alloc --no-default-features --lib`).
#[cfg(all(test, not(feature = "alloc")))]
mod no_alloc {
    use super::*;

    #[test]
    fn slabs_must_be_aligned_powers_of_two() {
        let obj = Layout::new::<[u8; 64]>();
        let b = SlabBuilder::new("no-alloc").layout(obj);
        let odd = Layout::from_size_align(3 * 4096, 4096).unwrap();
        assert_eq!(
            b.geometry(obj, odd).unwrap_err(),
            ConfigError::SlabSizeNotPowerOfTwo {
                slab_size: 3 * 4096
            }
        );
        let low = Layout::from_size_align(4096, 64).unwrap();
        assert_eq!(
            b.geometry(obj, low).unwrap_err(),
            ConfigError::BackingMismatch {
                slab_size: 4096,
                backing: low
            }
        );
        let fine = Layout::from_size_align(4096, 4096).unwrap();
        assert!(b.geometry(obj, fine).is_ok());
    }
}
