//! Hands requests to worker threads so that each application's requests are handled one at a
//! time and in order, while different applications are handled in parallel: a slow
//! application occupies one worker, never the socket thread or the others' queues.

use std::collections::{HashMap, HashSet, VecDeque};

use parking_lot::{Condvar, Mutex};

struct State<T> {
    queues: HashMap<String, VecDeque<T>>,
    /// Keys with queued work and no worker on them, in arrival order.
    runnable: VecDeque<String>,
    /// Keys a worker is on.
    busy: HashSet<String>,
    in_flight: usize,
    closed: bool,
}

pub struct Dispatcher<T> {
    state: Mutex<State<T>>,
    work: Condvar,
}

impl<T> Default for Dispatcher<T> {
    fn default() -> Self {
        Dispatcher {
            state: Mutex::new(State {
                queues: HashMap::new(),
                runnable: VecDeque::new(),
                busy: HashSet::new(),
                in_flight: 0,
                closed: false,
            }),
            work: Condvar::new(),
        }
    }
}

impl<T> Dispatcher<T> {
    pub fn push(&self, key: String, item: T) {
        let mut state = self.state.lock();
        state.in_flight += 1;
        let queue = state.queues.entry(key.clone()).or_default();
        let was_empty = queue.is_empty();
        queue.push_back(item);
        if was_empty && !state.busy.contains(&key) {
            state.runnable.push_back(key);
            drop(state);
            self.work.notify_one();
        }
    }

    /// The next item of an application no other worker is on; None once closed and drained.
    pub fn take(&self) -> Option<(String, T)> {
        let mut state = self.state.lock();
        loop {
            if let Some(key) = state.runnable.pop_front() {
                let item = state
                    .queues
                    .get_mut(&key)
                    .and_then(VecDeque::pop_front)
                    .expect("a runnable key has queued work");
                state.busy.insert(key.clone());
                return Some((key, item));
            }
            if state.closed {
                return None;
            }
            self.work.wait(&mut state);
        }
    }

    /// The worker finished the item it took for `key`.
    pub fn done(&self, key: &str) {
        let mut state = self.state.lock();
        state.busy.remove(key);
        state.in_flight -= 1;
        let more = state.queues.get(key).is_some_and(|q| !q.is_empty());
        if more {
            state.runnable.push_back(key.to_string());
            drop(state);
            self.work.notify_one();
        } else {
            state.queues.remove(key);
        }
    }

    /// Workers finish what is queued, then `take` returns None.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.work.notify_all();
    }

    /// True when nothing of `key` is queued or being handled.
    pub fn is_idle(&self, key: &str) -> bool {
        !self.state.lock().queues.contains_key(key)
    }

    pub fn in_flight(&self) -> usize {
        self.state.lock().in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn one_key_is_served_in_order_and_never_twice_at_once() {
        let d = Dispatcher::default();
        d.push("a".into(), 1);
        d.push("a".into(), 2);
        d.push("b".into(), 3);
        let (k1, v1) = d.take().unwrap();
        let (k2, v2) = d.take().unwrap();
        assert_eq!(
            (k1.as_str(), v1, k2.as_str(), v2),
            ("a", 1, "b", 3),
            "a's second item waits for the first"
        );
        d.done("a");
        assert_eq!(d.take().unwrap(), ("a".into(), 2));
        d.done("a");
        d.done("b");
        assert_eq!(d.in_flight(), 0);
    }

    #[test]
    fn close_releases_workers() {
        let d = Arc::new(Dispatcher::<u32>::default());
        let worker = {
            let d = d.clone();
            std::thread::spawn(move || d.take())
        };
        std::thread::sleep(Duration::from_millis(20));
        d.close();
        assert_eq!(worker.join().unwrap(), None);
    }
}
