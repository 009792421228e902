//! Allocator tuning for batch conversion.
//!
//! glibc serves allocations above a threshold (128 KiB, rising to at most
//! 32 MiB) with fresh `mmap`s and returns them on `free`. Every decoded
//! picture is such an allocation, so without tuning each conversion in a
//! `yail convert` batch faults in (and zeroes) its large buffers again,
//! which docs/performance.md measured at about 1.5 ms per picture. Raising
//! the thresholds keeps freed buffers in the heap for the next picture; the
//! peak is still bounded by the conversions running at once (`--jobs`).
//!
//! yail-server tunes its allocator the same way; the two binaries keep
//! their own copy because this is process policy, not library code.

/// Keeps freed picture buffers in the heap for reuse. Call once at start-up,
/// before other threads exist. A no-op where the C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 512 << 20;
        // SAFETY: mallopt only changes malloc parameters; it is called before
        // any other thread is started, as glibc requires.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
        }
    }
}
