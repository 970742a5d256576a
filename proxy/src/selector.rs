//! `host.selector`: which worker gets the next executor. Only workers with the cores, the
//! memory and the Spark version the executor needs are candidates; the selectors differ in how
//! they choose among them.
//!
//! - `RANDOM`: uniformly, from a seeded generator (`host.selector.seed`), so a run can be
//!   repeated.
//! - `ROUND_ROBIN`: the next worker after the last one chosen, in worker-id order.
//! - `LEAST_LOADED`: the most free cores (ties: the most free memory, then the id), spreading
//!   executors so that they compete least for CPU, disk and network.
//! - `PACK`: the fewest hosts per application: a worker that already runs executors of the
//!   application and has the fewest free cores left (best fit); else the worker with the most
//!   free cores, so the application's next executors fit there too.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::conf::SelectorKind;

/// A worker as a selector sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub worker_id: String,
    pub free_cores: u32,
    pub free_memory_mb: u64,
    /// Executors of the requesting application it runs already.
    pub app_executors: u32,
}

/// What the executor to be placed needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub cores: u32,
    pub memory_mb: u64,
}

impl Candidate {
    fn fits(&self, need: Need) -> bool {
        self.free_cores >= need.cores && self.free_memory_mb >= need.memory_mb
    }
}

pub struct Selector {
    kind: SelectorKind,
    rng: StdRng,
    last: Option<String>,
}

impl Selector {
    pub fn new(kind: SelectorKind, seed: u64) -> Selector {
        Selector {
            kind,
            rng: StdRng::seed_from_u64(seed),
            last: None,
        }
    }

    pub fn kind(&self) -> SelectorKind {
        self.kind
    }

    /// The index in `candidates` of the worker to use, None when none fits.
    pub fn pick(&mut self, candidates: &[Candidate], need: Need) -> Option<usize> {
        let mut fitting: Vec<usize> = (0..candidates.len())
            .filter(|&i| candidates[i].fits(need))
            .collect();
        fitting.sort_by(|&a, &b| candidates[a].worker_id.cmp(&candidates[b].worker_id));
        if fitting.is_empty() {
            return None;
        }
        let chosen = match self.kind {
            SelectorKind::Random => fitting[self.rng.random_range(0..fitting.len())],
            SelectorKind::RoundRobin => {
                let after = self.last.as_deref();
                fitting
                    .iter()
                    .copied()
                    .find(|&i| after.is_some_and(|last| candidates[i].worker_id.as_str() > last))
                    .unwrap_or(fitting[0])
            }
            SelectorKind::LeastLoaded => *fitting
                .iter()
                .max_by(|&&a, &&b| {
                    let (ca, cb) = (&candidates[a], &candidates[b]);
                    ca.free_cores
                        .cmp(&cb.free_cores)
                        .then(ca.free_memory_mb.cmp(&cb.free_memory_mb))
                        // Equal load: the smaller id, as `max_by` keeps the last maximum.
                        .then(cb.worker_id.cmp(&ca.worker_id))
                })
                .expect("not empty"),
            SelectorKind::Pack => {
                let hosting = fitting
                    .iter()
                    .copied()
                    .filter(|&i| candidates[i].app_executors > 0)
                    .min_by_key(|&i| candidates[i].free_cores);
                hosting.unwrap_or_else(|| {
                    *fitting
                        .iter()
                        .max_by(|&&a, &&b| {
                            candidates[a]
                                .free_cores
                                .cmp(&candidates[b].free_cores)
                                .then(candidates[b].worker_id.cmp(&candidates[a].worker_id))
                        })
                        .expect("not empty")
                })
            }
        };
        self.last = Some(candidates[chosen].worker_id.clone());
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: Need = Need {
        cores: 1,
        memory_mb: 512,
    };

    fn workers(free: &[(&str, u32)]) -> Vec<Candidate> {
        free.iter()
            .map(|&(id, cores)| Candidate {
                worker_id: id.into(),
                free_cores: cores,
                free_memory_mb: 64 * 1024,
                app_executors: 0,
            })
            .collect()
    }

    /// Places `n` executors one after another, charging each pick, and returns the ids.
    fn place(selector: &mut Selector, pool: &mut [Candidate], n: usize) -> Vec<String> {
        (0..n)
            .map_while(|_| {
                let i = selector.pick(pool, ONE)?;
                pool[i].free_cores -= ONE.cores;
                pool[i].free_memory_mb -= ONE.memory_mb;
                pool[i].app_executors += 1;
                Some(pool[i].worker_id.clone())
            })
            .collect()
    }

    #[test]
    fn nothing_fits_nothing_is_picked() {
        for kind in [
            SelectorKind::Random,
            SelectorKind::RoundRobin,
            SelectorKind::LeastLoaded,
            SelectorKind::Pack,
        ] {
            let mut s = Selector::new(kind, 1);
            assert_eq!(s.pick(&workers(&[("a", 0), ("b", 0)]), ONE), None);
            assert_eq!(s.pick(&[], ONE), None);
            let low_memory = vec![Candidate {
                worker_id: "a".into(),
                free_cores: 8,
                free_memory_mb: 100,
                app_executors: 0,
            }];
            assert_eq!(s.pick(&low_memory, ONE), None, "{kind:?}");
        }
    }

    #[test]
    fn round_robin_cycles_in_id_order_skipping_full_workers() {
        let mut s = Selector::new(SelectorKind::RoundRobin, 0);
        let mut pool = workers(&[("w2", 2), ("w1", 2), ("w3", 1)]);
        assert_eq!(place(&mut s, &mut pool, 6), ["w1", "w2", "w3", "w1", "w2"]);
    }

    #[test]
    fn least_loaded_spreads() {
        let mut s = Selector::new(SelectorKind::LeastLoaded, 0);
        let mut pool = workers(&[("a", 1), ("b", 3), ("c", 2)]);
        // Most free cores first; equal cores: the most free memory (b has given some away).
        assert_eq!(place(&mut s, &mut pool, 6), ["b", "c", "b", "a", "c", "b"]);
    }

    #[test]
    fn pack_fills_one_host_before_the_next() {
        let mut s = Selector::new(SelectorKind::Pack, 0);
        let mut pool = workers(&[("a", 2), ("b", 3), ("c", 1)]);
        // The largest first, then fill it; then the largest left.
        assert_eq!(place(&mut s, &mut pool, 6), ["b", "b", "b", "a", "a", "c"]);
    }

    #[test]
    fn random_is_repeatable_for_a_seed_and_uses_every_worker() {
        let run = |seed| {
            let mut s = Selector::new(SelectorKind::Random, seed);
            let mut pool = workers(&[("a", 50), ("b", 50), ("c", 50)]);
            place(&mut s, &mut pool, 30)
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let picks = run(7);
        for id in ["a", "b", "c"] {
            assert!(
                picks.iter().any(|p| p == id),
                "{id} never picked: {picks:?}"
            );
        }
    }
}
