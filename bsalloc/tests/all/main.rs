//! Tests of bsalloc's public behaviour: the conformance suite through both
//! interfaces, cross-thread stress, alignment, resizing across homes, class
//! exhaustion and reuse, zero sizes and refusals.

mod align;
mod classes;
mod conformance;
mod limits;
mod resize;
mod stress;

use core::alloc::Layout;
use core::ptr::NonNull;

/// Fills `len` bytes at `ptr` with the pattern of `seed`: a different
/// word for every eight bytes, so a block shifted, swapped or overwritten by
/// another is caught.
///
/// # Safety
///
/// `ptr` is valid for writes of `len` bytes.
pub(crate) unsafe fn fill(ptr: NonNull<u8>, len: usize, seed: u64) {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { core::slice::from_raw_parts_mut(ptr.as_ptr(), len) };
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&word(seed, i).to_ne_bytes()[..chunk.len()]);
    }
}

/// Checks the pattern of `seed` over `len` bytes at `ptr`: the offset of
/// the first wrong eight-byte word, if any.
///
/// # Safety
///
/// `ptr` is valid for reads of `len` initialised bytes.
pub(crate) unsafe fn check(ptr: NonNull<u8>, len: usize, seed: u64) -> Result<(), usize> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { core::slice::from_raw_parts(ptr.as_ptr(), len) };
    match bytes
        .chunks(8)
        .enumerate()
        .find(|&(i, chunk)| chunk != &word(seed, i).to_ne_bytes()[..chunk.len()])
    {
        Some((i, _)) => Err(i * 8),
        None => Ok(()),
    }
}

fn word(seed: u64, i: usize) -> u64 {
    (seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1
}

/// A small deterministic generator (xorshift64*), so each thread replays.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// A request for one of the three homes: mostly small, often large,
    /// sometimes a mapping, with alignments up to 64 KiB.
    pub(crate) fn layout(&mut self) -> Layout {
        let (size, max_align_shift) = match self.range(0, 99) {
            0..60 => (self.range(1, 64), 6),
            60..95 => (self.range(65, 4096), 12),
            _ if cfg!(miri) => (self.range(4097, 12_000), 16),
            _ => (self.range(4097, 100_000), 16),
        };
        let align = 1 << self.range(0, max_align_shift);
        Layout::from_size_align(size, align).unwrap()
    }
}
