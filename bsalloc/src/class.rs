//! A size class: an arena of equal blocks carved on demand, and a lock-free
//! free stack whose links live beside the blocks, never in them.
//!
//! # Memory layout
//!
//! The arena is one anonymous mapping, made on the class's first use:
//!
//! ```text
//! [ link 0 | link 1 | ... | link BLOCKS-1 | pad ][ block 0 | block 1 | ... | block BLOCKS-1 ]
//!   AtomicU32 each, LINKS_LEN bytes in all          BLOCK bytes each, aligned to BLOCK
//! ```
//!
//! `carved` counts the blocks handed out fresh so far (a bump index into the
//! arena); blocks `carved..BLOCKS` have never been used and are still the
//! kernel's zero pages, so they cost no memory.
//!
//! # The free stack
//!
//! A Treiber stack (R. K. Treiber, "Systems Programming: Coping with
//! Parallelism", IBM RJ 5118, 1986) of block indices. `head` packs a 32-bit
//! version tag above the 32-bit index of the top block (`EMPTY` when none);
//! link `i` holds the index below block `i`. Every successful exchange of
//! `head` bumps the tag, so a pop that read `head` before other threads
//! popped and pushed the same block again fails its compare-exchange instead
//! of installing a stale link (the ABA problem; the tag would have to wrap
//! around 2^32 exchanges during one pop to fool it).
//!
//! Because the links live in the arena's link table and are atomics, a pop
//! that reads the link of a block another thread has just taken reads a
//! table entry, never the block's memory: no data race with the block's new
//! owner, and freed blocks keep their contents (the allocator never writes
//! into a block). The stack has one link per block of the arena, so a freed
//! block always fits: a class cannot overflow, and its memory is bounded by
//! its arena.
//!
//! # Invariants
//!
//! - `arena` is null or a live mapping of `ARENA_LEN` bytes, set once.
//! - `head` is `EMPTY` (any tag) whenever `arena` is null.
//! - Every index on the stack is `< carved <= BLOCKS`, and each appears at
//!   most once: a block is either on the stack or owned by one caller.

use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::os;

/// The index part of `head` when the stack is empty.
const EMPTY: u32 = u32::MAX;
/// One step of the version tag in the upper half of `head`.
const TAG_ONE: u64 = 1 << 32;

/// `head` with a new tag and `index` as the top block.
#[inline]
const fn next_head(head: u64, index: u32) -> u64 {
    (head & !(u32::MAX as u64)).wrapping_add(TAG_ONE) | index as u64
}

/// The free stack's head on a cache line of its own, so that pushes and
/// pops on one class do not slow down the other class's fast path.
#[repr(align(128))]
#[derive(Debug)]
struct Head(AtomicU64);

/// One size class: `BLOCKS` blocks of `BLOCK` bytes, aligned to `BLOCK`.
#[derive(Debug)]
pub(crate) struct Class<const BLOCK: usize, const BLOCKS: usize> {
    // Read and written by the fast path.
    /// The free stack: a tag in the upper 32 bits, the top index below.
    head: Head,
    /// The arena mapping (links, then blocks); null until first use. Read by
    /// the fast path.
    arena: AtomicPtr<u8>,
    // Written only by the slow path.
    /// How many blocks have been carved from the arena.
    carved: AtomicUsize,
}

impl<const BLOCK: usize, const BLOCKS: usize> Class<BLOCK, BLOCKS> {
    /// Bytes of the link table, padded so that blocks start `BLOCK`-aligned.
    const LINKS_LEN: usize = (BLOCKS * size_of::<AtomicU32>()).div_ceil(BLOCK) * BLOCK;
    /// Bytes of the blocks.
    const BLOCKS_LEN: usize = BLOCKS * BLOCK;
    /// Bytes of the whole arena mapping.
    pub(crate) const ARENA_LEN: usize = Self::LINKS_LEN + Self::BLOCKS_LEN;

    /// The class's limits, checked when the class is instantiated.
    const VALID: () = {
        assert!(BLOCK.is_power_of_two(), "a block size is a power of two");
        // Mappings are aligned to the page, at least 4 KiB on Linux; blocks
        // are aligned to their size by their offset alone.
        assert!(BLOCK <= 4096, "a block is at most the smallest page");
        assert!(BLOCK >= size_of::<usize>(), "a block holds a pointer");
        assert!(
            BLOCKS > 0 && BLOCKS < EMPTY as usize,
            "indices fit below EMPTY"
        );
    };

    /// A class with no arena yet; the arena is mapped on first use.
    pub(crate) const fn new() -> Self {
        let () = Self::VALID;
        Class {
            head: Head(AtomicU64::new(EMPTY as u64)),
            arena: AtomicPtr::new(ptr::null_mut()),
            carved: AtomicUsize::new(0),
        }
    }

    /// A free block: the top of the free stack, or a fresh one carved from
    /// the arena (mapping it on first use). `None` when every block of the
    /// arena is in use or the arena cannot be mapped.
    ///
    /// The fast path is one acquire load of `head`, one of `arena`, a relaxed
    /// load of the top block's link and one compare-exchange; an empty stack
    /// leaves it for [`Self::alloc_slow`].
    #[inline]
    pub(crate) fn alloc(&self) -> Option<NonNull<u8>> {
        match self.pop() {
            Some(block) => Some(block),
            None => self.alloc_slow(),
        }
    }

    /// Takes the top block off the free stack.
    #[inline]
    fn pop(&self) -> Option<NonNull<u8>> {
        let mut head = self.head.0.load(Ordering::Acquire);
        if head as u32 == EMPTY {
            return None;
        }
        // A block was pushed, so the arena is mapped: the push happened after
        // the mapping was published and before the head we read.
        let arena = self.arena.load(Ordering::Acquire);
        debug_assert!(!arena.is_null(), "a non-empty free stack has an arena");
        loop {
            let index = head as u32;
            if index == EMPTY {
                return None;
            }
            // SAFETY: the arena is mapped and `index` came from the stack, so
            // it is below `BLOCKS`.
            let next = unsafe { Self::link(arena, index) }.load(Ordering::Relaxed);
            // Acquire on success: the block's last owner wrote to it before
            // its releasing push, and the new owner must see those writes
            // finished before it reuses the block.
            match self.head.0.compare_exchange_weak(
                head,
                next_head(head, next),
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                // SAFETY: `index` is below `BLOCKS` and the arena is mapped.
                Ok(_) => return Some(unsafe { Self::block(arena, index as usize) }),
                Err(now) => head = now,
            }
        }
    }

    /// Which block of this class `ptr` is, or `None` when it is not in the
    /// arena: one load and a compare.
    #[inline]
    pub(crate) fn index_of(&self, ptr: NonNull<u8>) -> Option<u32> {
        let arena = self.arena.load(Ordering::Acquire);
        if arena.is_null() {
            return None;
        }
        let offset = ptr
            .as_ptr()
            .addr()
            .wrapping_sub(arena.addr() + Self::LINKS_LEN);
        if offset >= Self::BLOCKS_LEN {
            return None;
        }
        debug_assert!(
            offset % BLOCK == 0,
            "bsalloc: a freed pointer inside a class arena is not the start of a block"
        );
        // `offset / BLOCK < BLOCKS < u32::MAX`.
        Some((offset / BLOCK) as u32)
    }

    /// Puts block `index` back on the free stack: a relaxed store of its link
    /// and one releasing compare-exchange.
    ///
    /// # Safety
    ///
    /// - `index` came from [`Self::index_of`] on this class for a block that
    ///   [`Self::alloc`] handed out.
    /// - The block is not on the stack (freed once) and nobody uses it any
    ///   more.
    #[inline]
    pub(crate) unsafe fn dealloc(&self, index: u32) {
        let arena = self.arena.load(Ordering::Acquire);
        // SAFETY: `index_of` found the block in the mapped arena, so `index`
        // is below `BLOCKS` and `arena` is not null.
        let link = unsafe { Self::link(arena, index) };
        let mut head = self.head.0.load(Ordering::Relaxed);
        loop {
            link.store(head as u32, Ordering::Relaxed);
            // Release: the link, and the caller's last writes to the block,
            // are visible to whoever pops it.
            match self.head.0.compare_exchange_weak(
                head,
                next_head(head, index),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Carves a fresh block from the arena, mapping the arena on the class's
    /// first use. When the arena is used up, looks at the free stack once
    /// more (other threads may have freed blocks since the fast path looked).
    #[cold]
    #[inline(never)]
    fn alloc_slow(&self) -> Option<NonNull<u8>> {
        let arena = match NonNull::new(self.arena.load(Ordering::Acquire)) {
            Some(arena) => arena,
            None => self.map_arena()?,
        };
        let mut carved = self.carved.load(Ordering::Relaxed);
        while carved < BLOCKS {
            match self.carved.compare_exchange_weak(
                carved,
                carved + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                // SAFETY: `carved < BLOCKS` and the arena is mapped; the
                // exchange gave this block to this caller alone.
                Ok(_) => return Some(unsafe { Self::block(arena.as_ptr(), carved) }),
                Err(now) => carved = now,
            }
        }
        self.pop()
    }

    /// Maps the arena and publishes it; of two threads that race here, the
    /// loser releases its mapping and uses the winner's.
    #[cold]
    #[inline(never)]
    fn map_arena(&self) -> Option<NonNull<u8>> {
        let fresh = os::map(Self::ARENA_LEN)?;
        match self.arena.compare_exchange(
            ptr::null_mut(),
            fresh.as_ptr(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Some(fresh),
            Err(winner) => {
                // SAFETY: `fresh` is the whole mapping made above, never
                // published, so nothing else can use it.
                unsafe { os::unmap(fresh, Self::ARENA_LEN) };
                NonNull::new(winner)
            }
        }
    }

    /// The link of block `index`.
    ///
    /// # Safety
    ///
    /// `arena` is this class's mapped arena and `index < BLOCKS`.
    #[inline]
    unsafe fn link<'a>(arena: *mut u8, index: u32) -> &'a AtomicU32 {
        // SAFETY: the link table starts the arena (aligned to the page) and
        // holds `BLOCKS` zero-initialised `AtomicU32`s, which live as long as
        // the mapping; they are only ever accessed atomically.
        unsafe { &*arena.cast::<AtomicU32>().add(index as usize) }
    }

    /// The address of block `index`.
    ///
    /// # Safety
    ///
    /// `arena` is this class's mapped arena and `index < BLOCKS`.
    #[inline]
    unsafe fn block(arena: *mut u8, index: usize) -> NonNull<u8> {
        // SAFETY: the block lies inside the arena mapping, whose address is
        // not null.
        unsafe { NonNull::new_unchecked(arena.add(Self::LINKS_LEN + index * BLOCK)) }
    }

    /// How many blocks have been carved from the arena so far.
    pub(crate) fn carved(&self) -> usize {
        self.carved.load(Ordering::Relaxed)
    }

    /// Checks the invariants of a class nobody else is using: every index on
    /// the stack is carved and appears once, and the stack ends.
    #[cfg(test)]
    pub(crate) fn check_invariants(&mut self) -> usize {
        let head = *self.head.0.get_mut();
        let arena = *self.arena.get_mut();
        let carved = *self.carved.get_mut();
        assert!(carved <= BLOCKS, "carved {carved} of {BLOCKS} blocks");
        if arena.is_null() {
            assert_eq!(head as u32, EMPTY, "a stack without an arena");
            assert_eq!(carved, 0, "blocks carved without an arena");
            return 0;
        }
        let mut seen = std::vec![false; carved];
        let mut index = head as u32;
        let mut len = 0;
        while index != EMPTY {
            let i = index as usize;
            assert!(i < carved, "index {i} on the stack was never carved");
            assert!(!seen[i], "index {i} is on the stack twice");
            seen[i] = true;
            len += 1;
            // SAFETY: the arena is mapped and `index < carved <= BLOCKS`.
            index = unsafe { Self::link(arena, index) }.load(Ordering::Relaxed);
        }
        len
    }
}

impl<const BLOCK: usize, const BLOCKS: usize> Drop for Class<BLOCK, BLOCKS> {
    fn drop(&mut self) {
        if let Some(arena) = NonNull::new(*self.arena.get_mut()) {
            // SAFETY: the arena is the whole mapping made by `map_arena`, and
            // dropping the class ends the life of every block carved from it.
            unsafe { os::unmap(arena, Self::ARENA_LEN) };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;
    use std::vec::Vec;

    use super::*;

    type Tiny = Class<64, 8>;

    #[test]
    fn next_head_bumps_the_tag_and_sets_the_index() {
        let head = next_head(EMPTY as u64, 5);
        assert_eq!(head as u32, 5);
        assert_eq!(head >> 32, 1);
        let wrapped = next_head(u64::MAX, 7);
        assert_eq!(wrapped as u32, 7);
        assert_eq!(wrapped >> 32, 0, "the tag wraps around");
    }

    #[test]
    fn geometry() {
        assert_eq!(Tiny::LINKS_LEN, 64);
        assert_eq!(Tiny::ARENA_LEN, 64 + 8 * 64);
        assert_eq!(Class::<4096, 2048>::LINKS_LEN, 8192);
        assert_eq!(Class::<64, 32768>::LINKS_LEN, 131_072);
    }

    #[test]
    fn carves_every_block_once_then_reuses_freed_ones_last_in_first_out() {
        let mut class = Tiny::new();
        assert_eq!(class.check_invariants(), 0);
        let blocks: Vec<NonNull<u8>> = (0..8).map(|_| class.alloc().unwrap()).collect();
        assert!(class.alloc().is_none(), "the arena holds 8 blocks");
        for pair in blocks.windows(2) {
            assert_eq!(pair[1].as_ptr().addr() - pair[0].as_ptr().addr(), 64);
        }
        assert!(blocks.iter().all(|b| b.as_ptr().addr() % 64 == 0));
        assert_eq!(class.carved(), 8);
        for (i, &b) in blocks.iter().enumerate() {
            assert_eq!(class.index_of(b), Some(i as u32));
            // SAFETY: `b` was handed out by `class` and is freed once.
            unsafe { class.dealloc(i as u32) };
        }
        assert_eq!(class.check_invariants(), 8);
        // Last in, first out.
        assert_eq!(class.alloc(), Some(blocks[7]));
        assert_eq!(class.alloc(), Some(blocks[6]));
        assert_eq!(class.check_invariants(), 6);
        assert_eq!(class.carved(), 8, "freed blocks are reused, not carved");
    }

    #[test]
    fn index_of_knows_only_its_own_blocks() {
        let class = Tiny::new();
        let mut other = 0u64;
        assert_eq!(class.index_of(NonNull::from(&mut other).cast()), None);
        let block = class.alloc().unwrap();
        assert_eq!(class.index_of(block), Some(0));
        assert_eq!(class.index_of(NonNull::from(&mut other).cast()), None);
        // One past the last block is outside.
        // SAFETY: the arena's blocks end 8 blocks after block 0.
        let end = unsafe { block.add(8 * 64) };
        assert_eq!(class.index_of(end), None);
    }

    #[test]
    fn fresh_blocks_are_zero_and_freed_ones_keep_their_contents() {
        let class = Tiny::new();
        let block = class.alloc().unwrap();
        // SAFETY: a fresh 64-byte block of this class.
        let bytes = unsafe { core::slice::from_raw_parts_mut(block.as_ptr(), 64) };
        assert!(bytes.iter().all(|&b| b == 0));
        bytes.fill(0xa5);
        // SAFETY: handed out above, freed once.
        unsafe { class.dealloc(class.index_of(block).unwrap()) };
        let again = class.alloc().unwrap();
        assert_eq!(again, block);
        // SAFETY: the same block, handed out again.
        let bytes = unsafe { core::slice::from_raw_parts(again.as_ptr(), 64) };
        assert!(
            bytes.iter().all(|&b| b == 0xa5),
            "the stack never writes into blocks"
        );
    }

    #[test]
    fn threads_push_and_pop_without_losing_or_duplicating_blocks() {
        let (threads, rounds) = if cfg!(miri) { (3, 30) } else { (8, 20_000) };
        let class = Arc::new(Class::<64, 64>::new());
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let class = Arc::clone(&class);
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for round in 0..rounds {
                        if (round + t) % 3 != 2 {
                            if let Some(block) = class.alloc() {
                                // SAFETY: a block this thread owns.
                                unsafe { block.as_ptr().write_bytes(t as u8, 64) };
                                mine.push(block);
                            }
                        } else if let Some(block) = mine.pop() {
                            // SAFETY: a block this thread owns.
                            let first = unsafe { block.as_ptr().read() };
                            assert_eq!(
                                first, t as u8,
                                "another thread wrote to a block it does not own"
                            );
                            // SAFETY: handed out by `class`, freed once.
                            unsafe { class.dealloc(class.index_of(block).unwrap()) };
                        }
                    }
                    mine.into_iter()
                        .map(|b| b.as_ptr().addr())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut live = HashSet::new();
        for worker in workers {
            for block in worker.join().unwrap() {
                assert!(live.insert(block), "a block was handed out twice");
            }
        }
        let mut class = Arc::into_inner(class).unwrap();
        let free = class.check_invariants();
        assert_eq!(
            free + live.len(),
            class.carved(),
            "every carved block is live or free"
        );
    }
}
