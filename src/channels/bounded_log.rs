//! An in-memory log bounded by count and by bytes, for the sandboxes: pushing past either bound
//! drops the oldest entries first, so however much anyone sends, memory stays under the bound.

use std::collections::VecDeque;

/// The bounds (from `[sandbox]` in the configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub max_items: usize,
    pub max_bytes: usize,
}

/// Entries oldest first, each with the size it was counted at.
#[derive(Debug)]
pub struct BoundedLog<T> {
    entries: VecDeque<(T, usize)>,
    bytes: usize,
    bounds: Bounds,
}

impl<T> BoundedLog<T> {
    pub fn new(bounds: Bounds) -> BoundedLog<T> {
        BoundedLog { entries: VecDeque::new(), bytes: 0, bounds }
    }

    /// Appends `entry`, counted as `size` bytes, then drops the oldest entries until both bounds
    /// hold again (an entry larger than `max_bytes` on its own is dropped at once).
    pub fn push(&mut self, entry: T, size: usize) {
        self.entries.push_back((entry, size));
        self.bytes += size;
        while self.entries.len() > self.bounds.max_items || self.bytes > self.bounds.max_bytes {
            let Some((_, dropped)) = self.entries.pop_front() else { break };
            self.bytes -= dropped;
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.entries.iter().map(|(entry, _)| entry)
    }

    /// For changes that keep an entry's size (a message's delivery status).
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.entries.iter_mut().map(|(entry, _)| entry)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes counted for the entries kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_go_first_past_either_bound() {
        let mut log = BoundedLog::new(Bounds { max_items: 3, max_bytes: 100 });
        for n in 0..5 {
            log.push(n, 10);
        }
        assert_eq!(log.iter().copied().collect::<Vec<_>>(), [2, 3, 4], "by count");
        assert_eq!(log.bytes(), 30);
        log.push(5, 80);
        assert_eq!(log.iter().copied().collect::<Vec<_>>(), [3, 4, 5], "by bytes: 110 > 100, the oldest went");
        assert_eq!(log.bytes(), 100);
        log.push(6, 101);
        assert!(log.is_empty(), "an entry over the byte bound on its own is not kept");
        assert_eq!(log.bytes(), 0);
    }

    #[test]
    fn a_flood_stays_within_the_bounds() {
        let bounds = Bounds { max_items: 1_000, max_bytes: 64 * 1024 };
        let mut log = BoundedLog::new(bounds);
        for n in 0..100_000usize {
            log.push(n, 1 + n % 200);
            assert!(log.len() <= bounds.max_items && log.bytes() <= bounds.max_bytes);
        }
        assert_eq!(log.iter().last(), Some(&99_999), "the newest is kept");
    }
}
