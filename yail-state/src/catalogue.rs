//! The file catalogue: an immutable snapshot behind an `Arc`, swapped
//! whole on every change, so random picks never wait for a writer.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::sync::lock;

/// An immutable set of files in insertion order.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    files: Vec<PathBuf>,
    known: HashSet<PathBuf>,
}

impl Catalogue {
    /// An empty catalogue.
    pub fn new() -> Catalogue {
        Catalogue::default()
    }

    /// Adds a file; `false` if it was already present.
    pub fn insert(&mut self, path: PathBuf) -> bool {
        if self.known.contains(&path) {
            return false;
        }
        self.known.insert(path.clone());
        self.files.push(path);
        true
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Whether `path` is in the catalogue.
    pub fn contains(&self, path: &Path) -> bool {
        self.known.contains(path)
    }

    /// The files in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(PathBuf::as_path)
    }

    /// A uniformly random file other than `previous` when another exists.
    pub fn random(&self, previous: Option<&Path>) -> Option<&PathBuf> {
        let n = self.files.len();
        if n == 0 {
            return None;
        }
        let pick = fastrand::usize(..n);
        match previous {
            Some(prev) if n > 1 && self.files[pick] == prev => {
                // Uniform over the others: skip ahead by 1..n.
                Some(&self.files[(pick + 1 + fastrand::usize(..n - 1)) % n])
            }
            _ => Some(&self.files[pick]),
        }
    }
}

impl FromIterator<PathBuf> for Catalogue {
    fn from_iter<I: IntoIterator<Item = PathBuf>>(iter: I) -> Catalogue {
        let mut catalogue = Catalogue::new();
        for path in iter {
            catalogue.insert(path);
        }
        catalogue
    }
}

/// The shared slot. Readers `load` without locking; writers serialise on a
/// mutex so two concurrent additions cannot lose one another.
#[derive(Default)]
pub(crate) struct CatalogueCell {
    current: ArcSwap<Catalogue>,
    writers: Mutex<()>,
}

impl CatalogueCell {
    pub(crate) fn load(&self) -> Arc<Catalogue> {
        self.current.load_full()
    }

    pub(crate) fn add(&self, path: PathBuf) -> bool {
        let _writer = lock(&self.writers);
        let current = self.current.load();
        if current.contains(&path) {
            return false;
        }
        // Copy on write: adding one file at a time is a start-up activity;
        // bulk loads should build a `Catalogue` and `replace`.
        let mut next = Catalogue::clone(&current);
        next.insert(path);
        self.current.store(Arc::new(next));
        true
    }

    pub(crate) fn replace(&self, catalogue: Catalogue) {
        let _writer = lock(&self.writers);
        self.current.store(Arc::new(catalogue));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_avoids_the_previous_file_when_it_can() {
        let catalogue: Catalogue = ["a", "b"].map(PathBuf::from).into_iter().collect();
        for _ in 0..100 {
            assert_eq!(
                catalogue.random(Some(Path::new("a"))),
                Some(&PathBuf::from("b"))
            );
        }
        let single: Catalogue = [PathBuf::from("a")].into_iter().collect();
        assert_eq!(
            single.random(Some(Path::new("a"))),
            Some(&PathBuf::from("a"))
        );
        assert_eq!(Catalogue::new().random(None), None);
    }

    #[test]
    fn random_reaches_every_file() {
        let catalogue: Catalogue = (0..5).map(|i| PathBuf::from(i.to_string())).collect();
        let mut seen = HashSet::new();
        for _ in 0..500 {
            seen.insert(catalogue.random(Some(Path::new("0"))).cloned());
        }
        assert_eq!(seen.len(), 4, "all but the previous one: {seen:?}");
    }
}
