//! The executor processes of one worker: each in its own process group (the JVM and the
//! Python workers it forks), stopped with SIGTERM and, after a grace period, SIGKILL; exits
//! reaped and reported.

use std::collections::BTreeMap;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::wire::ExecutorRecord;

struct Running {
    record: ExecutorRecord,
    driver_url: String,
    child: Child,
    /// Set once a stop was asked: when SIGKILL follows.
    kill_at: Option<Instant>,
}

/// An executor process that ended.
#[derive(Debug)]
pub struct Exited {
    pub record: ExecutorRecord,
    pub status: ExitStatus,
    /// It ended after a stop was asked (not on its own).
    pub stopped: bool,
}

pub struct Processes {
    running: BTreeMap<String, Running>,
    grace: Duration,
}

impl Processes {
    pub fn new(grace: Duration) -> Processes {
        Processes {
            running: BTreeMap::new(),
            grace,
        }
    }

    pub fn contains(&self, executor_id: &str) -> bool {
        self.running.contains_key(executor_id)
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    pub fn start(
        &mut self,
        mut command: Command,
        record: ExecutorRecord,
        driver_url: &str,
    ) -> std::io::Result<u32> {
        let child = command.spawn()?;
        let pid = child.id();
        let record = ExecutorRecord { pid, ..record };
        self.running.insert(
            record.executor_id.clone(),
            Running {
                record,
                driver_url: driver_url.to_string(),
                child,
                kill_at: None,
            },
        );
        Ok(pid)
    }

    /// Executors being stopped still hold their cores until they are gone.
    pub fn records(&self) -> Vec<ExecutorRecord> {
        self.running.values().map(|r| r.record.clone()).collect()
    }

    /// Applications with executors here and their drivers' URLs.
    pub fn drivers(&self) -> BTreeMap<String, String> {
        self.running
            .values()
            .map(|r| (r.record.app_id.clone(), r.driver_url.clone()))
            .collect()
    }

    /// SIGTERM to each one's process group; returns the ids that were running.
    pub fn stop(&mut self, executor_ids: &[String]) -> Vec<String> {
        let now = Instant::now();
        let mut stopped = Vec::new();
        for id in executor_ids {
            if let Some(running) = self.running.get_mut(id) {
                if running.kill_at.is_none() {
                    signal_group(running.record.pid, libc::SIGTERM);
                    running.kill_at = Some(now + self.grace);
                }
                stopped.push(id.clone());
            }
        }
        stopped
    }

    pub fn stop_app(&mut self, app_id: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .running
            .values()
            .filter(|r| r.record.app_id == app_id)
            .map(|r| r.record.executor_id.clone())
            .collect();
        self.stop(&ids)
    }

    pub fn stop_all(&mut self) -> Vec<String> {
        let ids: Vec<String> = self.running.keys().cloned().collect();
        self.stop(&ids)
    }

    /// Collects the processes that ended and SIGKILLs those whose grace has passed.
    pub fn reap(&mut self) -> Vec<Exited> {
        let now = Instant::now();
        let mut exited = Vec::new();
        let mut gone = Vec::new();
        for (id, running) in self.running.iter_mut() {
            match running.child.try_wait() {
                Ok(Some(status)) => {
                    // Whatever the JVM forked (Python workers) goes with it.
                    signal_group(running.record.pid, libc::SIGKILL);
                    gone.push(id.clone());
                    exited.push(Exited {
                        record: running.record.clone(),
                        status,
                        stopped: running.kill_at.is_some(),
                    });
                }
                Ok(None) => {
                    if running.kill_at.is_some_and(|t| now >= t) {
                        signal_group(running.record.pid, libc::SIGKILL);
                    }
                }
                Err(e) => log::warn!("cannot check executor {id}: {e}"),
            }
        }
        for id in gone {
            self.running.remove(&id);
        }
        exited
    }
}

impl Drop for Processes {
    /// A worker that goes away leaves no executor behind.
    fn drop(&mut self) {
        for running in self.running.values_mut() {
            signal_group(running.record.pid, libc::SIGKILL);
            let _ = running.child.wait();
        }
    }
}

fn signal_group(pid: u32, signal: i32) {
    // The process group id is the leader's pid (`process_group(0)` at spawn).
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, app: &str) -> ExecutorRecord {
        ExecutorRecord {
            executor_id: id.into(),
            app_id: app.into(),
            cores: 1,
            memory_mb: 1,
            pid: 0,
            started_ms: 0,
        }
    }

    fn sleeper(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        c
    }

    fn reap_until_empty(p: &mut Processes) -> Vec<Exited> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut all = Vec::new();
        while !p.is_empty() && Instant::now() < deadline {
            all.extend(p.reap());
            std::thread::sleep(Duration::from_millis(20));
        }
        all
    }

    #[test]
    fn stop_terminates_the_group_and_kills_what_ignores_sigterm() {
        use std::os::unix::process::ExitStatusExt;
        let dir = std::env::temp_dir().join(format!("pacer-processes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ready = dir.join("ready");
        let mut p = Processes::new(Duration::from_millis(300));
        p.start(sleeper("sleep 30 & wait"), record("1", "a"), "u")
            .unwrap();
        let stubborn = format!("trap '' TERM; touch {}; sleep 30 & wait", ready.display());
        p.start(sleeper(&stubborn), record("2", "a"), "u").unwrap();
        p.start(sleeper("sleep 30 & wait"), record("3", "b"), "u")
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(p.stop_app("a"), ["1", "2"]);
        let mut exited = Vec::new();
        while p.records().len() > 1 && Instant::now() < deadline {
            exited.extend(p.reap());
            std::thread::sleep(Duration::from_millis(20));
        }
        let signal_of = |id: &str| {
            exited
                .iter()
                .find(|e| e.record.executor_id == id)
                .and_then(|e| e.status.signal())
        };
        assert_eq!(signal_of("1"), Some(libc::SIGTERM));
        assert_eq!(signal_of("2"), Some(libc::SIGKILL), "it ignored SIGTERM");
        assert_eq!(p.drivers().keys().collect::<Vec<_>>(), ["b"]);
        p.stop_all();
        let exited = reap_until_empty(&mut p);
        assert!(exited.iter().all(|e| e.stopped));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_exit_on_its_own_is_reported() {
        let mut p = Processes::new(Duration::from_secs(5));
        p.start(sleeper("exit 3"), record("7", "a"), "u").unwrap();
        let exited = reap_until_empty(&mut p);
        assert_eq!(exited.len(), 1);
        assert_eq!(exited[0].status.code(), Some(3));
        assert!(!exited[0].stopped);
    }
}
