//! The server side of ZeroMQ's wire protocol as a ROUTER socket speaks it to REQ and DEALER
//! peers (ZMTP 3.0/3.1, NULL security: rfc.zeromq.org/spec/23 and /37): the greeting, the
//! READY handshake and message frames, with a limit on what one message may declare.
//!
//! Why not a ZeroMQ library: libzmq hands every message between its I/O thread and the
//! thread that answers, which costs more CPU than everything else the bridge does per message;
//! the pure-Rust `zeromq` crate avoids that but reads every frame whole, reserving whatever
//! size the frame declares, so ten bytes from any client abort the process. This module reads
//! only what the bridge accepts.

use bytes::{Buf, Bytes, BytesMut};

/// The greeting's fixed part: signature, version 3.0, NULL mechanism, not a server (NULL has
/// no roles), filler.
pub fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 0;
    g[12..16].copy_from_slice(b"NULL");
    g
}

#[derive(Debug, PartialEq, Eq)]
pub enum ZmtpError {
    /// Not a ZMTP 3 peer, or one asking for a security mechanism other than NULL.
    Greeting(&'static str),
    /// A READY command missing, malformed, or from a socket type that cannot talk to a ROUTER.
    Handshake(String),
    /// A message declaring more bytes or frames than accepted.
    TooLarge { declared: u64, limit: u64 },
    /// The peer closed the connection during the handshake (port probes and health checks do).
    Closed,
}

impl std::fmt::Display for ZmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZmtpError::Greeting(why) => write!(f, "bad ZMTP greeting: {why}"),
            ZmtpError::Handshake(why) => write!(f, "bad ZMTP handshake: {why}"),
            ZmtpError::TooLarge { declared, limit } => {
                write!(f, "a message of {declared} bytes (more than {limit})")
            }
            ZmtpError::Closed => write!(f, "closed by the peer during the handshake"),
        }
    }
}

/// Checks the first 10 bytes of the peer's greeting.
pub fn check_signature(g: &[u8]) -> Result<(), ZmtpError> {
    if g.len() < 10 || g[0] != 0xFF || g[9] & 1 != 1 {
        return Err(ZmtpError::Greeting("not a ZMTP signature"));
    }
    Ok(())
}

/// Checks the peer's 64-byte greeting.
pub fn check_greeting(g: &[u8]) -> Result<(), ZmtpError> {
    check_signature(g)?;
    if g.len() < 64 {
        return Err(ZmtpError::Greeting("a short greeting"));
    }
    if g[10] < 3 {
        return Err(ZmtpError::Greeting("ZMTP before 3.0"));
    }
    let mechanism = &g[12..32];
    let name_end = mechanism.iter().position(|&b| b == 0).unwrap_or(20);
    if &mechanism[..name_end] != b"NULL" {
        return Err(ZmtpError::Greeting("security mechanism other than NULL"));
    }
    Ok(())
}

const FLAG_MORE: u8 = 0x01;
const FLAG_LONG: u8 = 0x02;
const FLAG_COMMAND: u8 = 0x04;

/// The READY command announcing a ROUTER socket, as one frame.
pub fn ready_command() -> Vec<u8> {
    let mut body = Vec::with_capacity(32);
    put_short_string(&mut body, b"READY");
    put_short_string(&mut body, b"Socket-Type");
    body.extend_from_slice(&(6u32).to_be_bytes());
    body.extend_from_slice(b"ROUTER");
    let mut out = Vec::with_capacity(body.len() + 2);
    put_frame(&mut out, FLAG_COMMAND, &body);
    out
}

/// Checks the peer's READY command body: its socket type must be able to talk to a ROUTER.
pub fn check_ready(body: &[u8]) -> Result<(), ZmtpError> {
    let bad = |why: &str| ZmtpError::Handshake(why.to_string());
    let mut rest = body;
    let name = take_short_string(&mut rest).ok_or_else(|| bad("no command name"))?;
    if name != b"READY" {
        return Err(bad("the first command is not READY"));
    }
    let mut socket_type = None;
    while !rest.is_empty() {
        let key = take_short_string(&mut rest).ok_or_else(|| bad("truncated property name"))?;
        if rest.len() < 4 {
            return Err(bad("truncated property value"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if rest.len() < len {
            return Err(bad("truncated property value"));
        }
        if key.eq_ignore_ascii_case(b"Socket-Type") {
            socket_type = Some(rest[..len].to_vec());
        }
        rest = &rest[len..];
    }
    match socket_type.as_deref() {
        Some(b"REQ" | b"DEALER" | b"ROUTER") => Ok(()),
        Some(other) => Err(ZmtpError::Handshake(format!(
            "a {} socket cannot talk to a ROUTER",
            String::from_utf8_lossy(other)
        ))),
        None => Err(bad("no Socket-Type")),
    }
}

fn put_short_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

fn take_short_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (&len, tail) = rest.split_first()?;
    let len = usize::from(len);
    if tail.len() < len {
        return None;
    }
    let (s, tail) = tail.split_at(len);
    *rest = tail;
    Some(s)
}

fn put_frame(out: &mut Vec<u8>, flags: u8, body: &[u8]) {
    if body.len() > 255 {
        out.push(flags | FLAG_LONG);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    } else {
        out.push(flags);
        out.push(body.len() as u8);
    }
    out.extend_from_slice(body);
}

/// A message as frames on the wire (the last one without MORE).
pub fn encode_message<B: AsRef<[u8]>>(frames: &[B], out: &mut Vec<u8>) {
    for (i, frame) in frames.iter().enumerate() {
        let more = if i + 1 < frames.len() { FLAG_MORE } else { 0 };
        put_frame(out, more, frame.as_ref());
    }
}

/// A reply on the wire: the envelope's frames, then `body` as the last one.
pub fn encode_reply<B: AsRef<[u8]>>(envelope: &[B], body: &[u8], out: &mut Vec<u8>) {
    for frame in envelope {
        put_frame(out, FLAG_MORE, frame.as_ref());
    }
    put_frame(out, 0, body);
}

/// What the frame reader found in the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    Message(Vec<Bytes>),
    Command(Bytes),
}

/// Reads frames out of a connection's receive buffer, refusing any message that declares more
/// than `max_bytes` in all or more than `max_frames` frames, before buffering it.
pub struct FrameReader {
    max_bytes: u64,
    max_frames: usize,
    parts: Vec<Bytes>,
    bytes_in_parts: u64,
}

impl FrameReader {
    pub fn new(max_bytes: u64, max_frames: usize) -> FrameReader {
        FrameReader {
            max_bytes,
            max_frames,
            parts: Vec::new(),
            bytes_in_parts: 0,
        }
    }

    /// The next complete message or command in `buffer` (consuming it), `Ok(None)` when more
    /// bytes are needed.
    pub fn next(&mut self, buffer: &mut BytesMut) -> Result<Option<Incoming>, ZmtpError> {
        loop {
            let Some(&flags) = buffer.first() else {
                return Ok(None);
            };
            let (header, len) = if flags & FLAG_LONG != 0 {
                if buffer.len() < 9 {
                    return Ok(None);
                }
                (
                    9,
                    u64::from_be_bytes(buffer[1..9].try_into().expect("8 bytes")),
                )
            } else {
                if buffer.len() < 2 {
                    return Ok(None);
                }
                (2, u64::from(buffer[1]))
            };
            let declared = self.bytes_in_parts.saturating_add(len);
            if declared > self.max_bytes {
                return Err(ZmtpError::TooLarge {
                    declared,
                    limit: self.max_bytes,
                });
            }
            let len = len as usize;
            if buffer.len() < header + len {
                buffer.reserve(header + len - buffer.len());
                return Ok(None);
            }
            buffer.advance(header);
            let body = buffer.split_to(len).freeze();
            if flags & FLAG_COMMAND != 0 {
                return Ok(Some(Incoming::Command(body)));
            }
            self.parts.push(body);
            self.bytes_in_parts = declared;
            if flags & FLAG_MORE == 0 {
                self.bytes_in_parts = 0;
                return Ok(Some(Incoming::Message(std::mem::take(&mut self.parts))));
            }
            if self.parts.len() >= self.max_frames {
                return Err(ZmtpError::TooLarge {
                    declared,
                    limit: self.max_bytes,
                });
            }
        }
    }
}

/// The PONG answering a PING command (ZMTP 3.1 heartbeats), if `command` is one.
pub fn pong_for(command: &[u8]) -> Option<Vec<u8>> {
    let mut rest = command;
    let name = take_short_string(&mut rest)?;
    if name != b"PING" || rest.len() < 2 {
        return None;
    }
    let context = &rest[2..];
    let mut body = Vec::with_capacity(5 + context.len());
    put_short_string(&mut body, b"PONG");
    body.extend_from_slice(context);
    let mut out = Vec::new();
    put_frame(&mut out, FLAG_COMMAND, &body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    fn feed(buffer: &mut BytesMut, bytes: &[u8]) {
        buffer.put_slice(bytes);
    }

    fn wire(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_message(frames, &mut out);
        out
    }

    #[test]
    fn messages_come_out_whole_however_the_bytes_arrive() {
        let long = vec![b'x'; 300];
        let bytes = [wire(&[b"", b"{}"]), wire(&[&long])].concat();
        let mut reader = FrameReader::new(1 << 20, 16);
        let mut buffer = BytesMut::new();
        let mut got = Vec::new();
        for chunk in bytes.chunks(7) {
            feed(&mut buffer, chunk);
            while let Some(incoming) = reader.next(&mut buffer).unwrap() {
                got.push(incoming);
            }
        }
        assert_eq!(
            got,
            vec![
                Incoming::Message(vec![Bytes::from_static(b""), Bytes::from_static(b"{}")]),
                Incoming::Message(vec![Bytes::from(long)]),
            ]
        );
    }

    #[test]
    fn a_declared_size_beyond_the_limit_is_refused_before_it_is_buffered() {
        let mut reader = FrameReader::new(1_000, 16);
        let mut buffer = BytesMut::new();
        feed(&mut buffer, &[FLAG_LONG]);
        feed(&mut buffer, &(1u64 << 50).to_be_bytes());
        assert!(matches!(
            reader.next(&mut buffer),
            Err(ZmtpError::TooLarge { .. })
        ));
        // The sum over a message's frames counts, too.
        let mut reader = FrameReader::new(1_000, 16);
        let mut buffer = BytesMut::from(&wire(&[&[0u8; 200], &[0u8; 200], &[0u8; 700]])[..]);
        assert_eq!(
            reader.next(&mut buffer),
            Err(ZmtpError::TooLarge {
                declared: 1_100,
                limit: 1_000
            })
        );
    }

    #[test]
    fn too_many_frames_are_refused() {
        let mut reader = FrameReader::new(1 << 20, 3);
        let frames: Vec<&[u8]> = vec![b"a"; 10];
        let mut buffer = BytesMut::from(&wire(&frames)[..]);
        assert!(reader.next(&mut buffer).is_err());
    }

    #[test]
    fn greetings_and_handshakes() {
        assert_eq!(check_greeting(&greeting()), Ok(()));
        let mut old = greeting();
        old[10] = 2;
        assert!(check_greeting(&old).is_err());
        let mut curve = greeting();
        curve[12..17].copy_from_slice(b"CURVE");
        assert!(check_greeting(&curve).is_err());
        assert!(check_greeting(b"GET / HTTP/1.1\r\n").is_err());

        let mut reader = FrameReader::new(1 << 20, 16);
        let mut buffer = BytesMut::from(&ready_command()[..]);
        let Some(Incoming::Command(body)) = reader.next(&mut buffer).unwrap() else {
            panic!("a command");
        };
        assert!(check_ready(&body).is_ok(), "a ROUTER may talk to a ROUTER");
        let mut req = Vec::new();
        put_short_string(&mut req, b"READY");
        put_short_string(&mut req, b"Socket-Type");
        req.extend_from_slice(&3u32.to_be_bytes());
        req.extend_from_slice(b"REQ");
        put_short_string(&mut req, b"Identity");
        req.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(check_ready(&req), Ok(()));
        let mut publisher = req[..7].to_vec();
        put_short_string(&mut publisher, b"Socket-Type");
        publisher.extend_from_slice(&3u32.to_be_bytes());
        publisher.extend_from_slice(b"PUB");
        assert!(check_ready(&publisher).is_err());
        assert!(check_ready(b"\x05READY\x0bSocket-Type\x00\x00").is_err());
    }

    #[test]
    fn ping_is_answered_with_its_context() {
        let mut ping = Vec::new();
        put_short_string(&mut ping, b"PING");
        ping.extend_from_slice(&[0, 10]);
        ping.extend_from_slice(b"ctx");
        let pong = pong_for(&ping).unwrap();
        assert_eq!(&pong[2..], b"\x04PONGctx");
        assert_eq!(pong_for(b"\x05READY"), None);
    }
}
