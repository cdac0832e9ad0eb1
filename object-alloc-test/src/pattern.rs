//! The corruption tester's fill patterns: every live block holds a pattern
//! derived from its identity, checked before the block is freed.

use std::ptr::{self, NonNull};

use crate::config::splitmix;

/// The byte that fills block `id` after its identity prefix; never zero, so
/// that a block the allocator zeroes behind our back is noticed.
fn body_byte(id: u64) -> u8 {
    (splitmix(id) as u8) | 1
}

/// The first bytes of block `id`: the identity itself, so that two blocks
/// that share memory cannot hold each other's pattern.
fn prefix(id: u64) -> [u8; 8] {
    id.to_le_bytes()
}

/// Writes block `id`'s pattern over all `len` bytes at `ptr`.
///
/// # Safety
///
/// `ptr` is valid for writes of `len` bytes.
pub(crate) unsafe fn fill(ptr: NonNull<u8>, len: usize, id: u64) {
    // SAFETY: the caller guarantees `len` writable bytes.
    unsafe { ptr::write_bytes(ptr.as_ptr(), body_byte(id), len) };
    let head = prefix(id);
    let n = len.min(head.len());
    // SAFETY: `n <= len` bytes, writable; `head` is a local array.
    unsafe { ptr::copy_nonoverlapping(head.as_ptr(), ptr.as_ptr(), n) };
}

/// The first byte that differs from block `id`'s pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Corruption {
    pub(crate) offset: usize,
    pub(crate) expected: u8,
    pub(crate) found: u8,
}

/// Checks that the `len` bytes at `ptr` still hold block `id`'s pattern.
///
/// # Safety
///
/// `ptr` is valid for reads of `len` initialised bytes.
pub(crate) unsafe fn check(ptr: NonNull<u8>, len: usize, id: u64) -> Result<(), Corruption> {
    // SAFETY: the caller guarantees `len` readable, initialised bytes.
    let found = unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len) };
    let head = prefix(id);
    let n = len.min(head.len());
    let byte = body_byte(id);
    // The body is intact when its first byte is right and every byte equals
    // the next: one memcmp of the body against itself shifted by one, fast in
    // debug builds and under Miri, with no scratch buffer.
    let body = &found[n..];
    let body_ok = body.first().is_none_or(|&b| b == byte)
        && body[..body.len().saturating_sub(1)] == body[body.len().min(1)..];
    if found[..n] == head[..n] && body_ok {
        return Ok(());
    }
    let expected_at = |i: usize| if i < n { head[i] } else { byte };
    let offset = (0..len).find(|&i| found[i] != expected_at(i)).unwrap_or(0);
    Err(Corruption {
        offset,
        expected: expected_at(offset),
        found: found[offset],
    })
}
