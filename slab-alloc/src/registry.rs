//! Which slabs exist (with the `alloc` feature): a per-cache hash set of slab
//! addresses that makes "is this address in one of my slabs?" a question
//! answered without reading the address, and a process-wide registry of
//! every cache's slabs, consulted only when a free fails that question, to
//! name the cache an object belongs to.

use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// An open-addressing hash map (linear probing, backward-shift deletion)
/// from slab base addresses to `V`.
pub(crate) struct AddrMap<V> {
    slots: Vec<Option<(usize, V)>>,
    len: usize,
}

impl<V: Copy> AddrMap<V> {
    pub(crate) const fn new() -> Self {
        AddrMap {
            slots: Vec::new(),
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
        let old = core::mem::replace(&mut self.slots, Vec::with_capacity(cap));
        self.slots.resize_with(cap, || None);
        self.len = 0;
        for (k, v) in old.into_iter().flatten() {
            self.insert(k, v);
        }
    }
}

/// What the registry knows about a slab: its cache's id and name.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    pub(crate) id: usize,
    pub(crate) name: &'static str,
}

/// The process-wide map from slab base to owning cache, behind a spin lock.
/// Taken only when a cache gains or returns a slab, and on a failed free.
struct Registry {
    locked: AtomicBool,
    slabs: UnsafeCell<Slabs>,
}

/// Every cache's slabs, and the slab sizes in use (bit `k` set: some cache
/// has slabs of `1 << k` bytes).
pub(crate) struct Slabs {
    pub(crate) map: AddrMap<Owner>,
    sizes: usize,
}

impl Slabs {
    pub(crate) fn insert(&mut self, base: usize, slab_size: usize, owner: Owner) {
        self.sizes |= slab_size;
        self.map.insert(base, owner);
    }

    /// The slab sizes ever used, as a bit set of powers of two.
    pub(crate) fn slab_sizes(&self) -> usize {
        self.sizes
    }
}

// SAFETY: `slabs` is only touched by `with_registry`, while `locked` is held,
// so one thread at a time.
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry {
    locked: AtomicBool::new(false),
    slabs: UnsafeCell::new(Slabs {
        map: AddrMap::new(),
        sizes: 0,
    }),
};

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
