//! The bounded queue between the threads that report events and the client thread.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use pacer_protocol::{Event, EventType};

/// What happened to a pushed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Queued, and the oldest droppable event was dropped to make room.
    QueuedDropping(EventType),
    /// The queue is closed.
    Refused,
}

#[derive(Debug, PartialEq)]
pub enum Popped {
    Event(Event),
    /// Nothing arrived within the wait.
    Idle,
    /// The queue is closed and drained, or its drain deadline has passed.
    Finished,
}

struct State {
    events: VecDeque<Event>,
    drain_deadline: Option<Instant>,
}

pub struct OutboundQueue {
    state: Mutex<State>,
    arrived: Condvar,
    capacity: usize,
}

/// APPLICATION_START and APPLICATION_END frame the run on the bridge: never dropped.
fn droppable(event: &Event) -> bool {
    matches!(event, Event::JobStart(_) | Event::JobEnd(_))
}

impl OutboundQueue {
    pub fn new(capacity: usize) -> OutboundQueue {
        OutboundQueue {
            state: Mutex::new(State {
                events: VecDeque::with_capacity(capacity.min(1024)),
                drain_deadline: None,
            }),
            arrived: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn push(&self, event: Event) -> Pushed {
        let mut state = self.state.lock();
        if state.drain_deadline.is_some() {
            return Pushed::Refused;
        }
        let mut outcome = Pushed::Queued;
        if state.events.len() >= self.capacity {
            if let Some(index) = state.events.iter().position(droppable) {
                if let Some(dropped) = state.events.remove(index) {
                    outcome = Pushed::QueuedDropping(dropped.event_type());
                }
            }
        }
        state.events.push_back(event);
        drop(state);
        self.arrived.notify_one();
        outcome
    }

    /// Waits up to `wait` for the next event.
    pub fn pop(&self, wait: Duration) -> Popped {
        let mut state = self.state.lock();
        let wake_at = Instant::now() + wait;
        loop {
            if let Some(deadline) = state.drain_deadline {
                if Instant::now() >= deadline {
                    return Popped::Finished;
                }
            }
            if let Some(event) = state.events.pop_front() {
                return Popped::Event(event);
            }
            if state.drain_deadline.is_some() {
                return Popped::Finished;
            }
            if self.arrived.wait_until(&mut state, wake_at).timed_out() {
                return Popped::Idle;
            }
        }
    }

    /// No more events are accepted; what is queued may be sent until `deadline`.
    pub fn close(&self, deadline: Instant) {
        let mut state = self.state.lock();
        if state.drain_deadline.is_none() {
            state.drain_deadline = Some(deadline);
        }
        drop(state);
        self.arrived.notify_all();
    }

    pub fn is_closing(&self) -> bool {
        self.state.lock().drain_deadline.is_some()
    }

    /// True once the queue is closed and its drain deadline has passed: stop at once.
    pub fn must_stop(&self) -> bool {
        matches!(self.state.lock().drain_deadline, Some(d) if Instant::now() >= d)
    }

    pub fn len(&self) -> usize {
        self.state.lock().events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_protocol::{ApplicationEnd, JobStart};

    fn job(id: i64) -> Event {
        Event::JobStart(JobStart {
            app_event_id: String::new(),
            app_time: 0,
            job_id: id,
            num_executors: 1,
        })
    }

    fn app_end() -> Event {
        Event::ApplicationEnd(ApplicationEnd {
            app_event_id: String::new(),
            app_time: 0,
            num_executors: 1,
        })
    }

    fn job_id(p: Popped) -> i64 {
        match p {
            Popped::Event(Event::JobStart(j)) => j.job_id,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn full_queue_drops_the_oldest_droppable_event() {
        let q = OutboundQueue::new(3);
        assert_eq!(q.push(app_end()), Pushed::Queued);
        q.push(job(1));
        q.push(job(2));
        assert_eq!(q.push(job(3)), Pushed::QueuedDropping(EventType::JobStart));
        assert_eq!(q.len(), 3);
        assert!(matches!(
            q.pop(Duration::ZERO),
            Popped::Event(Event::ApplicationEnd(_))
        ));
        assert_eq!(job_id(q.pop(Duration::ZERO)), 2);
        assert_eq!(job_id(q.pop(Duration::ZERO)), 3);
        assert_eq!(q.pop(Duration::from_millis(1)), Popped::Idle);
    }

    #[test]
    fn framing_events_are_never_dropped() {
        let q = OutboundQueue::new(1);
        q.push(app_end());
        assert_eq!(q.push(app_end()), Pushed::Queued);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn closed_queue_drains_then_finishes() {
        let q = OutboundQueue::new(4);
        q.push(job(1));
        q.close(Instant::now() + Duration::from_secs(5));
        assert_eq!(q.push(job(2)), Pushed::Refused);
        assert_eq!(job_id(q.pop(Duration::ZERO)), 1);
        assert_eq!(q.pop(Duration::from_secs(5)), Popped::Finished);
    }

    #[test]
    fn drain_deadline_stops_even_with_events_left() {
        let q = OutboundQueue::new(4);
        q.push(job(1));
        q.close(Instant::now());
        assert!(q.must_stop());
        assert_eq!(q.pop(Duration::ZERO), Popped::Finished);
    }

    #[test]
    fn pop_wakes_on_push() {
        let q = std::sync::Arc::new(OutboundQueue::new(4));
        let pusher = {
            let q = q.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                q.push(job(9));
            })
        };
        assert_eq!(job_id(q.pop(Duration::from_secs(10))), 9);
        pusher.join().unwrap();
    }
}
