//! Allocator tuning for processes that convert many pictures.
//!
//! glibc serves allocations above a threshold (128 KiB, rising to at most
//! 32 MiB) with fresh `mmap`s and gives them back on `free`. Every decoded
//! picture is such an allocation, so each conversion pays for faulting in
//! (and zeroing) hundreds of new pages. Measured with `yail convert
//! --timings` on the photo set, raising the thresholds cut the median GR.8
//! time from about 5.7 to about 4.2 ms. The memory stays in the process for
//! reuse; the decode memory budget bounds the peak. After a large picture
//! the pipeline calls [`release_freed_memory`], or the freed blocks of a
//! 12-megapixel RGBA PNG (about 270 MB) would stay resident
//! (docs/performance.md, "Memory of a huge picture").

/// Hands memory freed by a large conversion back to the system at once,
/// instead of keeping it for reuse (see [`keep_freed_memory`]). A no-op
/// where the C library is not glibc.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only returns free heap memory to the system;
        // glibc allows it from any thread at any time.
        #[allow(unsafe_code)]
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

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
