//! Least-recently-active order with a byte count, for the session store's budget.
//!
//! Touching an entry and finding the least recently active one are O(log n) (a
//! `BTreeMap` keyed by a touch counter), so evicting never scans the whole store under
//! its lock, however many sessions it holds.

use std::collections::{BTreeMap, HashMap};

/// Per entry: when it was last touched (a counter) and how many bytes it holds.
#[derive(Debug, Default)]
pub(crate) struct Recency {
    order: BTreeMap<u64, String>,
    entries: HashMap<String, (u64, usize)>,
    next: u64,
    total: usize,
}

impl Recency {
    /// Marks `id` as the most recently active and sets its size to `bytes`.
    pub(crate) fn touch(&mut self, id: &str, bytes: usize) {
        let seq = self.next;
        self.next += 1;
        match self.entries.get_mut(id) {
            Some((old_seq, old_bytes)) => {
                self.order.remove(old_seq);
                self.total = self.total - *old_bytes + bytes;
                *old_seq = seq;
                *old_bytes = bytes;
            }
            None => {
                self.entries.insert(id.to_owned(), (seq, bytes));
                self.total += bytes;
            }
        }
        self.order.insert(seq, id.to_owned());
    }

    /// Changes the size of `id` without changing its place (a seeded history replaced).
    pub(crate) fn resize(&mut self, id: &str, bytes: usize) {
        match self.entries.get_mut(id) {
            Some((_, old)) => {
                self.total = self.total - *old + bytes;
                *old = bytes;
            }
            None => self.touch(id, bytes),
        }
    }

    pub(crate) fn forget(&mut self, id: &str) {
        if let Some((seq, bytes)) = self.entries.remove(id) {
            self.order.remove(&seq);
            self.total -= bytes;
        }
    }

    /// The least recently active entry.
    pub(crate) fn oldest(&self) -> Option<&str> {
        self.order.values().next().map(String::as_str)
    }

    pub(crate) fn bytes(&self) -> usize {
        self.total
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_is_the_least_recently_touched_and_bytes_add_up() {
        let mut r = Recency::default();
        r.touch("a", 10);
        r.touch("b", 20);
        r.touch("c", 30);
        assert_eq!((r.oldest(), r.bytes(), r.len()), (Some("a"), 60, 3));
        r.touch("a", 15);
        assert_eq!((r.oldest(), r.bytes()), (Some("b"), 65));
        r.resize("b", 5);
        assert_eq!((r.oldest(), r.bytes()), (Some("b"), 50));
        r.forget("b");
        assert_eq!((r.oldest(), r.bytes(), r.len()), (Some("c"), 45, 2));
    }
}
