//! The converted-packet cache: least recently used entries go first once
//! the byte budget is exceeded.

use lru::LruCache;

use super::converted::Converted;

/// Packets by key, within a byte budget.
#[derive(Debug)]
pub struct PacketCache {
    entries: LruCache<String, Converted>,
    bytes: usize,
    budget: usize,
}

impl PacketCache {
    /// An empty cache holding at most `budget` bytes of packets (0: nothing).
    pub fn new(budget: usize) -> PacketCache {
        PacketCache {
            entries: LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    /// The packet stored under `key`, marking it recently used.
    pub fn get(&mut self, key: &str) -> Option<Converted> {
        self.entries.get(key).cloned()
    }

    /// Stores a packet, evicting the least recently used ones to make
    /// room. A packet larger than the whole budget is not stored.
    pub fn insert(&mut self, key: String, packet: Converted) {
        let len = packet.bytes.len();
        if len > self.budget {
            return;
        }
        if let Some(old) = self.entries.put(key, packet) {
            self.bytes -= old.bytes.len();
        }
        self.bytes += len;
        while self.bytes > self.budget {
            match self.entries.pop_lru() {
                Some((_, evicted)) => self.bytes -= evicted.bytes.len(),
                None => break,
            }
        }
    }

    #[cfg(test)]
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use yail_proto::GfxMode;

    use super::*;

    fn packet(len: usize) -> Converted {
        Converted {
            mode: GfxMode::Gr9,
            bytes: Bytes::from(vec![0; len]),
        }
    }

    #[test]
    fn least_recently_used_goes_first() {
        let mut cache = PacketCache::new(30);
        cache.insert("a".into(), packet(10));
        cache.insert("b".into(), packet(10));
        cache.insert("c".into(), packet(10));
        assert!(cache.get("a").is_some()); // a is now the most recent
        cache.insert("d".into(), packet(10));
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some() && cache.get("c").is_some() && cache.get("d").is_some());
        assert_eq!(cache.bytes(), 30);
        assert_eq!(cache.get("d").map(|p| p.mode), Some(GfxMode::Gr9));
    }

    #[test]
    fn zero_budget_stores_nothing_and_replacing_keeps_the_count() {
        let mut off = PacketCache::new(0);
        off.insert("a".into(), packet(1));
        assert!(off.is_empty());
        let mut cache = PacketCache::new(100);
        cache.insert("a".into(), packet(40));
        cache.insert("a".into(), packet(20));
        assert_eq!((cache.len(), cache.bytes()), (1, 20));
    }
}
