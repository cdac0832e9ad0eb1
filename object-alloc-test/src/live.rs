//! Bookkeeping of live blocks: alignment, distinctness and overlap are
//! checked from addresses before a block is touched, and each block carries a
//! fill pattern checked before it is freed.

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::ptr::NonNull;

use crate::pattern;

/// The address ranges of live blocks, to catch a block handed out twice or
/// overlapping another.
#[derive(Debug, Default)]
pub(crate) struct Live {
    // start address -> (length, block id)
    ranges: BTreeMap<usize, (usize, u64)>,
}

impl Live {
    /// Records `len` bytes at `addr` as block `id`, or describes the live block
    /// it collides with. Empty blocks are not recorded: they cannot overlap.
    pub(crate) fn insert(&mut self, addr: usize, len: usize, id: u64) -> Result<(), String> {
        if len == 0 {
            return Ok(());
        }
        let end = addr
            .checked_add(len)
            .ok_or_else(|| format!("block {addr:#x}+{len} wraps around the address space"))?;
        if let Some((&start, &(other_len, other))) = self.ranges.range(..end).next_back() {
            if start == addr {
                return Err(format!(
                    "block {addr:#x} (#{id}, {len} bytes) was handed out while still live as block #{other}"
                ));
            }
            if start + other_len > addr {
                return Err(format!(
                    "block {addr:#x}..{end:#x} (#{id}) overlaps live block {start:#x}..{:#x} (#{other})",
                    start + other_len
                ));
            }
        }
        self.ranges.insert(addr, (len, id));
        Ok(())
    }

    /// Forgets the block at `addr`.
    pub(crate) fn remove(&mut self, addr: usize, len: usize) {
        if len != 0 {
            self.ranges.remove(&addr);
        }
    }
}

/// A live block the suite owns: where it is, how many bytes it may use, and
/// its identity (which picks its fill pattern).
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) ptr: NonNull<u8>,
    pub(crate) len: usize,
    pub(crate) id: u64,
    /// The layout the block was asked for, which frees it.
    pub(crate) layout: Layout,
}

// SAFETY: a `Held` is the suite's exclusive handle to a block of plain
// memory; moving it to another thread moves that ownership, which is what the
// cross-thread checks do before freeing the block there.
unsafe impl Send for Held {}

/// Checks a fresh block: `ptr` is aligned to `layout`, and `len` bytes at it do
/// not collide with any live block. Then records it and fills it with its
/// pattern (which proves every byte is writable).
///
/// # Safety
///
/// If the checks pass, `ptr` must be valid for writes of `len` bytes: the
/// allocator under test promised so.
pub(crate) unsafe fn adopt(
    live: &mut Live,
    ptr: NonNull<u8>,
    len: usize,
    layout: Layout,
    id: u64,
) -> Result<Held, String> {
    let align = layout.align();
    if ptr.addr().get() & (align - 1) != 0 {
        return Err(format!(
            "block {ptr:p} (#{id}, {len} bytes) is not aligned to {align}"
        ));
    }
    live.insert(ptr.addr().get(), len, id)?;
    // SAFETY: the caller guarantees the block is writable for `len` bytes.
    unsafe { pattern::fill(ptr, len, id) };
    Ok(Held {
        ptr,
        len,
        id,
        layout,
    })
}

/// Checks that a block still holds its pattern, then forgets it: what happens
/// right before a block is freed.
///
/// # Safety
///
/// `held` was returned by `adopt` on `live`, and its memory is still valid.
pub(crate) unsafe fn release(live: &mut Live, held: &Held) -> Result<(), String> {
    // SAFETY: the caller guarantees the block's memory is valid, and `adopt`
    // initialised all of it.
    unsafe { verify(held) }?;
    live.remove(held.ptr.addr().get(), held.len);
    Ok(())
}

/// Checks that a block still holds its pattern.
///
/// # Safety
///
/// As for [`release`].
pub(crate) unsafe fn verify(held: &Held) -> Result<(), String> {
    // SAFETY: forwarded from the caller.
    unsafe { pattern::check(held.ptr, held.len, held.id) }.map_err(|c| {
        format!(
            "block {:p} (#{}, {} bytes) was corrupted while live: byte {} is {:#04x}, expected {:#04x}",
            held.ptr, held.id, held.len, c.offset, c.found, c.expected
        )
    })
}
