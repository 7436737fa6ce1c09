//! The selections `macat serve` pages through: a query's whole answer at a committed run, as
//! version ids in order, kept so that each further page of it is a slice and one read per image.
//!
//! A committed run never changes, so a selection never goes stale; the cache is bounded by the
//! number of ids it holds (8 bytes each), the least recently used selection leaving first.
//! Without it every page would count and skip through the selection again: at 10^6 images a
//! deep page costs tens of milliseconds of SQLite, at 16 clients the server's whole time.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::catalog::Query;
use crate::error::Result;

/// What identifies a selection: the run, the scopes (one project's) and the query without its
/// paging.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    run_id: i64,
    scopes: Vec<i64>,
    query: Query,
}

impl Key {
    pub fn new(run_id: i64, scopes: &[i64], query: &Query) -> Key {
        Key {
            run_id,
            scopes: scopes.to_vec(),
            query: query.without_paging(),
        }
    }
}

/// Recently used selections, most recent last.
pub struct Selections {
    max_ids: usize,
    held: Mutex<VecDeque<(Key, Arc<Vec<i64>>)>>,
}

impl Selections {
    /// A cache holding at most `max_ids` ids in all (a selection larger than that is not kept).
    pub fn new(max_ids: usize) -> Selections {
        Selections {
            max_ids,
            held: Mutex::new(VecDeque::new()),
        }
    }

    /// The selection of `key`, made by `make` when it is not held.
    pub fn get_or_make(
        &self,
        key: Key,
        make: impl FnOnce() -> Result<Vec<i64>>,
    ) -> Result<Arc<Vec<i64>>> {
        {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = held.iter().position(|(k, _)| *k == key) {
                let entry = held.remove(i).expect("a held position");
                let ids = entry.1.clone();
                held.push_back(entry);
                return Ok(ids);
            }
        }
        let ids = Arc::new(make()?);
        if ids.len() <= self.max_ids {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            if !held.iter().any(|(k, _)| *k == key) {
                held.push_back((key, ids.clone()));
            }
            let mut total: usize = held.iter().map(|(_, v)| v.len()).sum();
            while total > self.max_ids {
                let Some((_, gone)) = held.pop_front() else {
                    break;
                };
                total -= gone.len();
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(run: i64, name: &str) -> Key {
        let q = Query {
            name: Some(name.into()),
            ..Query::default()
        };
        Key::new(run, &[1], &q)
    }

    #[test]
    fn a_selection_is_made_once_and_paging_does_not_matter() {
        let s = Selections::new(100);
        let made = std::cell::Cell::new(0);
        let make = || {
            made.set(made.get() + 1);
            Ok(vec![1, 2, 3])
        };
        let q = Query {
            offset: 40,
            limit: 20,
            ..Query::default()
        };
        assert_eq!(
            *s.get_or_make(Key::new(1, &[1], &q), make).unwrap(),
            [1, 2, 3]
        );
        let again = Key::new(1, &[1], &Query::default());
        assert_eq!(*s.get_or_make(again, || unreachable!()).unwrap(), [1, 2, 3]);
        assert_eq!(made.get(), 1);
        // Another run, scope or filter is another selection.
        assert_eq!(
            *s.get_or_make(Key::new(2, &[1], &q), || Ok(vec![9]))
                .unwrap(),
            [9]
        );
        assert_eq!(
            *s.get_or_make(Key::new(1, &[2], &q), || Ok(vec![8]))
                .unwrap(),
            [8]
        );
    }

    #[test]
    fn the_least_recently_used_leave_first_within_the_bound() {
        let s = Selections::new(10);
        s.get_or_make(key(1, "a"), || Ok(vec![0; 4])).unwrap();
        s.get_or_make(key(1, "b"), || Ok(vec![0; 4])).unwrap();
        // "a" used again: "b" is now the oldest.
        s.get_or_make(key(1, "a"), || unreachable!()).unwrap();
        s.get_or_make(key(1, "c"), || Ok(vec![0; 4])).unwrap();
        let remade = std::cell::Cell::new(false);
        s.get_or_make(key(1, "a"), || unreachable!()).unwrap();
        s.get_or_make(key(1, "b"), || {
            remade.set(true);
            Ok(vec![0; 4])
        })
        .unwrap();
        assert!(remade.get());
        // Larger than the bound: answered, not kept.
        assert_eq!(
            s.get_or_make(key(1, "d"), || Ok(vec![7; 11]))
                .unwrap()
                .len(),
            11
        );
        let again = std::cell::Cell::new(false);
        s.get_or_make(key(1, "d"), || {
            again.set(true);
            Ok(vec![7; 11])
        })
        .unwrap();
        assert!(again.get());
    }
}
