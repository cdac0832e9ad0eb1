//! Which slabs exist (with the `alloc` feature): a per-cache hash set of slab
//! addresses that makes "is this address in one of my slabs?" a question
//! answered without reading the address, and a process-wide registry of
//! every cache's slabs, consulted only when a free fails that question, to
//! name the cache an object belongs to.
//!
//! With `std` their tables live in memory from a private bsalloc heap, so
//! that a cache used inside a global allocator never calls back into that
//! allocator while it holds its own lock; with `alloc` alone, in the global
//! allocator.

use allocator_api2::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// Where the maps' tables come from: never the global allocator when there
/// is `std` (a global allocator may be built on these caches).
#[cfg(feature = "std")]
type Meta = &'static bsalloc::BsAlloc;
#[cfg(feature = "std")]
static META: bsalloc::BsAlloc = bsalloc::BsAlloc::new();
#[cfg(feature = "std")]
const META_HEAP: Meta = &META;
#[cfg(not(feature = "std"))]
type Meta = allocator_api2::alloc::Global;
#[cfg(not(feature = "std"))]
const META_HEAP: Meta = allocator_api2::alloc::Global;

/// An open-addressing hash map (linear probing, backward-shift deletion)
/// from slab base addresses to `V`.
pub(crate) struct AddrMap<V> {
    slots: Vec<Option<(usize, V)>, Meta>,
    len: usize,
}

impl<V: Copy> AddrMap<V> {
    pub(crate) const fn new() -> Self {
        AddrMap {
            slots: Vec::new_in(META_HEAP),
            len: 0,
        }
    }

    #[inline]
    fn home(&self, key: usize) -> usize {
        // Fibonacci hashing: the multiply spreads the address over the high
        // bits, and the top `log2(len)` of them pick the slot.
        let h = key.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize);
        h >> (usize::BITS - self.slots.len().trailing_zeros())
    }

    #[inline]
    pub(crate) fn get(&self, key: usize) -> Option<V> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.slots[i] {
                Some((k, v)) if k == key => return Some(v),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }

    pub(crate) fn insert(&mut self, key: usize, value: V) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        while let Some((k, _)) = self.slots[i] {
            debug_assert_ne!(k, key, "slab {key:#x} registered twice");
            i = (i + 1) & mask;
        }
        self.slots[i] = Some((key, value));
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, key: usize) {
        if self.slots.is_empty() {
            return;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match self.slots[i] {
                Some((k, _)) if k == key => break,
                Some(_) => i = (i + 1) & mask,
                None => return,
            }
        }
        self.slots[i] = None;
        self.len -= 1;
        // Backward shift: move later entries of the run into the hole when
        // their home is not between the hole and them.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        while let Some((k, v)) = self.slots[j] {
            let home = self.home(k);
            let dist_j = j.wrapping_sub(home) & mask;
            let dist_hole = hole.wrapping_sub(home) & mask;
            if dist_hole < dist_j {
                self.slots[hole] = Some((k, v));
                self.slots[j] = None;
                hole = j;
            }
            j = (j + 1) & mask;
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = core::mem::replace(&mut self.slots, Vec::with_capacity_in(cap, META_HEAP));
        self.slots.resize_with(cap, || None);
        self.len = 0;
        for (k, v) in old.into_iter().flatten() {
            self.insert(k, v);
        }
    }
}

/// The slabs overlapping one granule: at most two, since slabs are disjoint
/// and none is shorter than a granule.
type Pair<V> = [Option<(usize, V)>; 2];

/// Slabs by granule: for every slab `[base, base + size)`, each granule of
/// `1 << shift` bytes it overlaps maps to `(base, value)`, where `shift` is
/// `floor(log2(size))` for every slab in the map (sizes may differ).
///
/// A slab then overlaps at most three granules and a granule at most two
/// slabs, so finding the slab of any address is one hash probe and at most
/// two range checks: O(1) whatever the slabs' alignment. Slabs aligned to
/// their (power-of-two) size are the special case of one granule per slab.
struct GranuleMap<V> {
    map: AddrMap<Pair<V>>,
}

impl<V: Copy> GranuleMap<V> {
    const fn new() -> Self {
        GranuleMap {
            map: AddrMap::new(),
        }
    }

    /// The slab containing `addr`, given each slab's size.
    #[inline]
    fn get(&self, addr: usize, shift: u32, size: impl Fn(&V) -> usize) -> Option<(usize, V)> {
        let pair = self.map.get(addr >> shift)?;
        pair.into_iter()
            .flatten()
            .find(|(base, v)| addr.wrapping_sub(*base) < size(v))
    }

    fn insert(&mut self, base: usize, slab_size: usize, shift: u32, value: V) {
        for key in granules(base, slab_size, shift) {
            let mut pair = self.map.get(key).unwrap_or([None, None]);
            self.map.remove(key);
            let slot = pair
                .iter_mut()
                .find(|s| s.is_none())
                .expect("a granule overlaps at most two slabs");
            *slot = Some((base, value));
            self.map.insert(key, pair);
        }
    }

    fn remove(&mut self, base: usize, slab_size: usize, shift: u32) {
        for key in granules(base, slab_size, shift) {
            let Some(mut pair) = self.map.get(key) else {
                continue;
            };
            self.map.remove(key);
            for slot in &mut pair {
                if matches!(slot, Some((b, _)) if *b == base) {
                    *slot = None;
                }
            }
            if pair.iter().any(Option::is_some) {
                self.map.insert(key, pair);
            }
        }
    }
}

/// One cache's pointer-to-slab map: a [`GranuleMap`] of slabs of one size.
pub(crate) struct SlabMap<V> {
    granules: GranuleMap<V>,
    slab_size: usize,
    shift: u32,
}

impl<V: Copy> SlabMap<V> {
    /// A map for slabs of `slab_size` bytes.
    pub(crate) const fn new(slab_size: usize) -> Self {
        SlabMap {
            granules: GranuleMap::new(),
            slab_size,
            shift: granule_shift(slab_size),
        }
    }

    /// The slab containing `addr`: its base and value.
    #[inline]
    pub(crate) fn get(&self, addr: usize) -> Option<(usize, V)> {
        self.granules.get(addr, self.shift, |_| self.slab_size)
    }

    /// Records the slab at `base`.
    pub(crate) fn insert(&mut self, base: usize, value: V) {
        self.granules
            .insert(base, self.slab_size, self.shift, value);
    }

    /// Forgets the slab at `base`.
    pub(crate) fn remove(&mut self, base: usize) {
        self.granules.remove(base, self.slab_size, self.shift);
    }
}

/// `floor(log2(slab_size))`: the granule of a [`GranuleMap`].
const fn granule_shift(slab_size: usize) -> u32 {
    usize::BITS - 1 - slab_size.leading_zeros()
}

/// The granule numbers a slab overlaps.
fn granules(base: usize, slab_size: usize, shift: u32) -> core::ops::RangeInclusive<usize> {
    (base >> shift)..=((base + slab_size - 1) >> shift)
}

/// What the registry knows about a slab: its cache's id and name, and the
/// slab's size.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) id: usize,
    pub(crate) name: &'static str,
    pub(crate) slab_size: usize,
}

/// The process-wide map from slab base to owning cache, behind a spin lock.
/// Taken only when a cache gains or returns a slab, and on a failed free.
struct Registry {
    locked: AtomicBool,
    slabs: UnsafeCell<Slabs>,
}

/// Every cache's slabs: one [`GranuleMap`] per granule size, and the
/// granule sizes in use as a bit set.
pub(crate) struct Slabs {
    maps: [GranuleMap<Owner>; usize::BITS as usize],
    shifts: u64,
}

impl Slabs {
    pub(crate) fn insert(&mut self, base: usize, owner: Owner) {
        let shift = granule_shift(owner.slab_size);
        self.shifts |= 1 << shift;
        self.maps[shift as usize].insert(base, owner.slab_size, shift, owner);
    }

    pub(crate) fn remove(&mut self, base: usize, slab_size: usize) {
        let shift = granule_shift(slab_size);
        self.maps[shift as usize].remove(base, slab_size, shift);
    }

    /// The owner of the slab containing `addr`, trying every granule size
    /// in use.
    pub(crate) fn owner_of(&self, addr: usize) -> Option<Owner> {
        let mut shifts = self.shifts;
        while shifts != 0 {
            let shift = shifts.trailing_zeros();
            shifts &= shifts - 1;
            if let Some((_, owner)) = self.maps[shift as usize].get(addr, shift, |o| o.slab_size) {
                return Some(owner);
            }
        }
        None
    }
}

// SAFETY: `slabs` is only touched by `with_registry`, while `locked` is held,
// so one thread at a time.
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry {
    locked: AtomicBool::new(false),
    slabs: UnsafeCell::new(Slabs {
        maps: [const { GranuleMap::new() }; usize::BITS as usize],
        shifts: 0,
    }),
};

/// Takes the registry lock and keeps it (for a `fork`; see
/// [`unlock_registry`]).
#[cfg(feature = "zone")]
pub(crate) fn lock_registry() {
    while REGISTRY
        .locked
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
}

/// Releases the lock [`lock_registry`] took.
#[cfg(feature = "zone")]
pub(crate) fn unlock_registry() {
    REGISTRY.locked.store(false, Ordering::Release);
}

/// Runs `f` on the registry with its lock held.
pub(crate) fn with_registry<R>(f: impl FnOnce(&mut Slabs) -> R) -> R {
    while REGISTRY
        .locked
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    struct Unlock;
    impl Drop for Unlock {
        fn drop(&mut self) {
            REGISTRY.locked.store(false, Ordering::Release);
        }
    }
    let _unlock = Unlock;
    // SAFETY: the lock is held until `_unlock` drops, so no other reference
    // to the map exists.
    let slabs = unsafe { &mut *REGISTRY.slabs.get() };
    f(slabs)
}
