//! Hostile input mixed with valid traffic: 10,000 malformed, truncated, oversized and random
//! messages while applications run. The server keeps serving, answers everything, and the
//! valid applications' history is complete afterwards.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use pacer_bridge::history::JobScaleOut;
use pacer_bridge::store::Store;

const HOSTILE_MESSAGES: usize = 10_000;
const VALID_APPS: usize = 12;
const RUNS_PER_APP: usize = 3;
const JOBS: i64 = 5;

/// xorshift64*: reproducible garbage.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn message(&mut self) -> Vec<u8> {
        let valid = serde_json::to_vec(&job_end("1", 3, 1_000, 4)).unwrap();
        match self.below(8) {
            0 => {
                let len = self.below(2_000);
                self.bytes(len)
            }
            1 => valid[..self.below(valid.len())].to_vec(),
            2 => {
                let mut big = br#"{"event_type":"JOB_START","payload":{"app_event_id":""#.to_vec();
                big.extend(std::iter::repeat_n(b'x', 70_000));
                big.extend(br#"","app_time":1,"job_id":1,"num_executors":2}}"#);
                big
            }
            3 => {
                let mut packed = vec![0x80 | (self.below(16) as u8)];
                let len = self.below(300);
                packed.extend(self.bytes(len));
                packed
            }
            4 => {
                br#"{"event_type":"JOB_START","payload":{"app_event_id":7,"job_id":"x"}}"#.to_vec()
            }
            5 => {
                serde_json::to_vec(&job_start(&format!("ghost-{}", self.next()), 1, 1, 3)).unwrap()
            }
            6 => Vec::new(),
            _ => {
                let mut flipped = valid.clone();
                let i = self.below(flipped.len());
                flipped[i] ^= 1 << self.below(8);
                flipped
            }
        }
    }
}

#[test]
fn hostile_traffic_does_not_hurt_valid_applications() {
    let dir = TempDir::new("hostile");
    let db = dir.path().join("h.db");
    let server = start("pacer", &db);
    let endpoint = server.endpoint().to_string();

    let attackers: Vec<_> = (0..2u64)
        .map(|seed| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let context = zmq::Context::new();
                let dealer =
                    connected_socket(&context, zmq::DEALER, &endpoint, Duration::from_secs(30));
                let mut garbage = Garbage(0x9E37_79B9_7F4A_7C15 ^ (seed + 1));
                let count = HOSTILE_MESSAGES / 2;
                let mut answered = 0;
                for sent in 0..count {
                    dealer
                        .send_multipart([Vec::new(), garbage.message()], 0)
                        .unwrap();
                    // Keep a window of outstanding requests, like a busy client.
                    while sent + 1 - answered > 64 {
                        dealer
                            .recv_multipart(0)
                            .expect("every hostile message is answered");
                        answered += 1;
                    }
                }
                while answered < count {
                    dealer
                        .recv_multipart(0)
                        .expect("every hostile message is answered");
                    answered += 1;
                }
                answered
            })
        })
        .collect();

    let started = Instant::now();
    let apps: Vec<_> = (0..VALID_APPS)
        .map(|i| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let client = Client::connect(&endpoint);
                (0..RUNS_PER_APP)
                    .map(|run| {
                        let start = (run * 1_000_000 + i * 10) as i64;
                        run_app(
                            &client,
                            &format!("Valid{i}"),
                            true,
                            60_000,
                            start,
                            JOBS,
                            |_, s| 4_000 / s,
                        )
                        .0
                    })
                    .collect::<Vec<String>>()
            })
        })
        .collect();
    let valid_ids: Vec<String> = apps.into_iter().flat_map(|a| a.join().unwrap()).collect();
    let answered: usize = attackers.into_iter().map(|a| a.join().unwrap()).sum();
    println!(
        "{answered} hostile messages answered; valid runs done in {:?}",
        started.elapsed()
    );
    assert_eq!(answered, HOSTILE_MESSAGES);
    assert!(
        server.counters().bad_messages.load(Ordering::Relaxed) >= (HOSTILE_MESSAGES / 2) as u64
    );
    server.stop();

    let store = Store::open(&db).unwrap();
    let reader = store.reader().unwrap();
    for i in 0..VALID_APPS {
        let runs = reader
            .finished_runs(&format!("Valid{i}"), 100, JobScaleOut::AtEnd)
            .unwrap();
        assert_eq!(runs.len(), RUNS_PER_APP, "Valid{i}");
        for run in runs {
            assert!(valid_ids.contains(&run.app_event_id));
            assert_eq!(run.jobs.len() as i64, JOBS, "every job recorded");
        }
    }
}

/// What a ZMTP peer sends before its messages: the greeting of a NULL-security 3.0 peer and a
/// READY naming a DEALER socket.
fn zmtp_preamble() -> Vec<u8> {
    let mut greeting = vec![0u8; 64];
    greeting[0] = 0xFF;
    greeting[9] = 0x7F;
    greeting[10] = 3;
    greeting[12..16].copy_from_slice(b"NULL");
    let mut ready = b"\x05READY\x0bSocket-Type".to_vec();
    ready.extend_from_slice(&6u32.to_be_bytes());
    ready.extend_from_slice(b"DEALER");
    greeting.extend_from_slice(&[0x04, ready.len() as u8]);
    greeting.extend_from_slice(&ready);
    greeting
}

#[test]
fn broken_connections_are_closed_and_the_server_goes_on() {
    use std::io::{Read, Write};
    let dir = TempDir::new("wire");
    let server = start("noop", &dir.path().join("h.db"));
    let address = server.endpoint().trim_start_matches("tcp://").to_string();
    let huge_frame = [&zmtp_preamble()[..], &[0x02], &(1u64 << 50).to_be_bytes()].concat();
    let cases: [(&str, Vec<u8>); 5] = [
        ("a frame declaring 2^50 bytes", huge_frame),
        ("HTTP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("a CURVE greeting", {
            let mut g = zmtp_preamble();
            g[12..17].copy_from_slice(b"CURVE");
            g
        }),
        ("a message before READY", {
            let mut g = zmtp_preamble()[..64].to_vec();
            g.extend_from_slice(&[0x00, 0x02, b'{', b'}']);
            g
        }),
        ("random bytes", Garbage(7).bytes(4_096)),
    ];
    for (what, bytes) in cases {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.write_all(&bytes);
        // The server closes the connection: reading ends (after its own greeting).
        let mut sink = Vec::new();
        let closed = stream.read_to_end(&mut sink);
        assert!(
            closed.is_ok(),
            "{what}: the connection was not closed: {closed:?}"
        );
    }
    // Still serving.
    let client = Client::connect(server.endpoint());
    let reply = client.send(&app_start("AfterWireGarbage", true, 60_000, 1));
    assert_eq!(scale_out(&reply), 10);
    server.stop();
}
