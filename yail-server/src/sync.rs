//! The one locking rule of the server's own mutexes.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex whose data stays valid even if a holder panicked: every
/// critical section in this crate is a map operation, an assignment or a
/// push, so a panic cannot leave the data half-changed.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
