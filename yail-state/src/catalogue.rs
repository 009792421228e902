//! The file catalogue: an immutable snapshot behind an `Arc`, swapped
//! whole on every change, so random picks never wait for a writer.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

/// An immutable set of files in insertion order: what a scan of the
/// picture folders builds, and what [`ServerState::replace_files`]
/// publishes whole.
///
/// [`ServerState::replace_files`]: crate::ServerState::replace_files
///
/// ```
/// use std::path::{Path, PathBuf};
/// use yail_state::Catalogue;
///
/// let mut catalogue = Catalogue::new();
/// assert!(catalogue.is_empty());
/// assert!(catalogue.insert(PathBuf::from("/pictures/a.png")));
/// assert!(!catalogue.insert(PathBuf::from("/pictures/a.png"))); // already there
///
/// let more: Catalogue = ["b.jpg", "c.gif"].map(PathBuf::from).into_iter().collect();
/// assert_eq!(more.len(), 2);
/// assert_eq!(more.iter().collect::<Vec<_>>(), [Path::new("b.jpg"), Path::new("c.gif")]);
/// ```
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

    /// The files in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(PathBuf::as_path)
    }

    /// A uniformly random file other than `previous` when another exists.
    pub(crate) fn random(&self, previous: Option<&Path>) -> Option<&PathBuf> {
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

/// The shared slot. Readers `load` without locking; a rescan stores a
/// whole new catalogue in one atomic swap, so a reader sees the old one or
/// the new one, never a mixture.
#[derive(Default)]
pub(crate) struct CatalogueCell {
    current: ArcSwap<Catalogue>,
}

impl CatalogueCell {
    pub(crate) fn load(&self) -> Arc<Catalogue> {
        self.current.load_full()
    }

    pub(crate) fn replace(&self, catalogue: Catalogue) {
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

        /// A rescan while others pick files: every catalogue is `0..n` for
        /// some n, so a reader must see a whole prefix set, never a
        /// mixture of two.
        #[test]
        fn rescans_never_expose_a_partial_catalogue(sizes in proptest::collection::vec(1u8..40, 1..8)) {
            let file = |n: u8| PathBuf::from(format!("/pictures/{n}.png"));
            let cell = CatalogueCell::default();
            cell.replace((0..sizes[0]).map(file).collect());
            std::thread::scope(|scope| {
                let (writer, sizes) = (&cell, &sizes);
                scope.spawn(move || {
                    for &n in sizes {
                        writer.replace((0..n).map(file).collect());
                    }
                });
                for _ in 0..200 {
                    let snapshot = cell.load();
                    let n = snapshot.len() as u8;
                    let expected: Vec<PathBuf> = (0..n).map(file).collect();
                    assert_eq!(snapshot.iter().map(PathBuf::from).collect::<Vec<_>>(), expected);
                    assert!(snapshot.random(None).is_some());
                }
            });
        }
    }
}
