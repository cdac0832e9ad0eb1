//! Statistics and messages written to stderr without allocating: a
//! fixed buffer on the stack, flushed with `write(2)`.

use core::fmt::{self, Write};

use slab_alloc::ZoneStats;

use crate::Backend;

/// A `fmt::Write` into a 4 KiB stack buffer, flushed to a file descriptor
/// with `write(2)` whenever it fills and when dropped.
pub struct FdWriter {
    fd: i32,
    buf: [u8; 4096],
    len: usize,
}

impl FdWriter {
    /// A writer to `fd`.
    pub const fn new(fd: i32) -> Self {
        FdWriter {
            fd,
            buf: [0; 4096],
            len: 0,
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        let mut done = 0;
        while done < self.len {
            // SAFETY: the range is inside the buffer.
            let n =
                unsafe { libc::write(self.fd, self.buf[done..].as_ptr().cast(), self.len - done) };
            if n <= 0 {
                break;
            }
            done += n as usize;
        }
        self.len = 0;
    }
}

impl fmt::Debug for FdWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FdWriter")
            .field("fd", &self.fd)
            .finish_non_exhaustive()
    }
}

impl Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(self.buf.len()) {
            if self.len + chunk.len() > self.buf.len() {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes the message and a newline to stderr and aborts, allocating
/// nothing.
pub fn die(args: fmt::Arguments<'_>) -> ! {
    {
        let mut w = FdWriter::new(2);
        let _ = w.write_fmt(args);
        let _ = w.write_str("\n");
    }
    std::process::abort()
}

/// Writes `b`'s statistics to stderr.
pub fn print<B: Backend + ?Sized>(b: &B) {
    print_to(2, b);
}

/// Writes `b`'s statistics to the file descriptor `fd`.
pub fn print_to<B: Backend + ?Sized>(fd: i32, b: &B) {
    let mut w = FdWriter::new(fd);
    let _ = b.write_stats(&mut w);
}

/// Bytes as KiB or MiB, for the tables.
struct Bytes(usize);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= 10 << 20 {
            write!(f, "{} MiB", b >> 20)
        } else if b >= 10 << 10 {
            write!(f, "{} KiB", b >> 10)
        } else {
            write!(f, "{b} B")
        }
    }
}

/// Writes a zone's statistics: one line per class that was used, then the
/// large blocks and the totals.
///
/// ```
/// let zone = slab_alloc::SlabMalloc::new();
/// let p = zone.malloc(100).unwrap();
/// let mut out = String::new();
/// malloc_bind::stats::write_zone(&zone.stats(), &mut out).unwrap();
/// assert!(out.contains("112 B"));
/// // SAFETY: freed once.
/// unsafe { zone.free(p.as_ptr()) };
/// ```
pub fn write_zone(s: &ZoneStats, out: &mut dyn Write) -> fmt::Result {
    writeln!(out, "slab-malloc statistics")?;
    writeln!(
        out,
        "{:>8} {:>12} {:>12} {:>10} {:>7} {:>9} {:>6}",
        "class", "mallocs", "frees", "out", "slabs", "held", "depot"
    )?;
    let mut allocs = s.large.allocs;
    let mut frees = s.large.frees;
    for c in s
        .classes
        .iter()
        .filter(|c| c.allocs + c.slabs.objects_allocated > 0)
    {
        allocs += c.allocs;
        frees += c.frees;
        writeln!(
            out,
            "{:>6} B {:>12} {:>12} {:>10} {:>7} {:>9} {:>6}",
            c.size,
            c.allocs,
            c.frees,
            c.slabs.objects_live,
            c.slabs.slabs,
            Bytes(c.slabs.bytes_held).to_string_in_place(),
            c.depot_full,
        )?;
    }
    writeln!(
        out,
        "   large {:>12} {:>12} {:>10} live, {} cached ({}), {} mapped",
        s.large.allocs,
        s.large.frees,
        s.large.live_blocks,
        s.large.cached_blocks,
        Bytes(s.large.cached_bytes),
        Bytes(s.large.mapped_bytes)
    )?;
    writeln!(
        out,
        "   total {allocs:>12} {frees:>12}; {} held in slabs, {} chunks of 4 MiB, {} magazines",
        Bytes(s.small_bytes_held()),
        s.chunks,
        s.magazines
    )?;
    writeln!(
        out,
        "(out: objects out of the slabs, in use or in thread magazines and depots; other threads' last calls are counted when their magazines go back)"
    )
}

/// Right-aligning a `Display` needs its text first; this renders into a
/// small stack buffer instead of a `String`.
struct Small {
    buf: [u8; 32],
    len: usize,
}

impl Write for Small {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = (self.len + s.len()).min(self.buf.len());
        let n = end - self.len;
        self.buf[self.len..end].copy_from_slice(&s.as_bytes()[..n]);
        self.len = end;
        Ok(())
    }
}

impl fmt::Display for Small {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only ASCII is ever written into it.
        f.pad(core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?"))
    }
}

impl Bytes {
    fn to_string_in_place(&self) -> Small {
        let mut s = Small {
            buf: [0; 32],
            len: 0,
        };
        let _ = write!(s, "{self}");
        s
    }
}
