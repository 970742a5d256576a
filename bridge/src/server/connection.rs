//! One client connection on the socket thread's runtime: the ZMTP handshake, then messages in
//! (to the router, which answers most of them at once into the connection's write buffer) and
//! replies out: the router's, written once per wake-up for all the messages that arrived
//! together, and the workers' (through the socket loop).

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::socket_loop::SharedRouter;
use super::zmtp::{self, FrameReader, Incoming, ZmtpError};

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Frames one message may have: an identity or two, the delimiter and the body are enough.
const MAX_FRAMES: usize = 64;

/// Serves connection `id` until the client goes, breaks the protocol, or `outbound` closes;
/// then tells the socket loop it is closed.
pub async fn serve(
    stream: TcpStream,
    id: u64,
    max_message_bytes: u64,
    router: SharedRouter,
    closed: UnboundedSender<u64>,
    outbound: UnboundedReceiver<Vec<u8>>,
) {
    exchange(stream, id, max_message_bytes, &router, outbound).await;
    let _ = closed.send(id);
}

async fn exchange(
    stream: TcpStream,
    id: u64,
    max_message_bytes: u64,
    router: &SharedRouter,
    mut outbound: UnboundedReceiver<Vec<u8>>,
) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let mut buffer = BytesMut::with_capacity(8 * 1024);
    let mut frames = FrameReader::new(max_message_bytes, MAX_FRAMES);
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        handshake(&mut read, &mut write, &mut buffer, &mut frames),
    )
    .await;
    match handshake {
        Ok(Ok(())) => {}
        Ok(Err(ZmtpError::Closed)) => {
            log::debug!("a connection from {peer} was closed by the peer during the handshake");
            return;
        }
        Ok(Err(e)) => {
            log::warn!("a connection from {peer} was closed: {e}");
            return;
        }
        Err(_) => {
            log::warn!("a connection from {peer} was closed: no ZMTP handshake within 30 s");
            return;
        }
    }
    // Replies (and PONGs) to what arrived together, written at once.
    let mut out = Vec::with_capacity(1024);
    loop {
        // What is buffered first: the handshake's last read may have brought messages too.
        loop {
            match frames.next(&mut buffer) {
                Ok(Some(Incoming::Message(parts))) => {
                    router.borrow_mut().route(id, parts, &mut out)
                }
                Ok(Some(Incoming::Command(command))) => {
                    if let Some(pong) = zmtp::pong_for(&command) {
                        out.extend_from_slice(&pong);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    log::warn!("a connection from {peer} was closed: {e}");
                    return;
                }
            }
        }
        if !out.is_empty() {
            if write.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        tokio::select! {
            biased;
            reply = outbound.recv() => match reply {
                Some(bytes) => {
                    if write.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            received = read_more(&mut read, &mut buffer) => {
                if received.is_err() {
                    return;
                }
            }
        }
    }
}

async fn handshake(
    read: &mut OwnedReadHalf,
    write: &mut OwnedWriteHalf,
    buffer: &mut BytesMut,
    frames: &mut FrameReader,
) -> Result<(), ZmtpError> {
    let mut hello = zmtp::greeting().to_vec();
    hello.extend_from_slice(&zmtp::ready_command());
    write
        .write_all(&hello)
        .await
        .map_err(|_| ZmtpError::Closed)?;
    while buffer.len() < 64 {
        // A ZMTP peer sends its 10-byte signature first; anything else is refused at once.
        if buffer.len() >= 10 {
            zmtp::check_signature(&buffer[..10])?;
        }
        read_more(read, buffer).await?;
    }
    zmtp::check_greeting(&buffer[..64])?;
    let _ = buffer.split_to(64);
    loop {
        if let Some(incoming) = frames.next(buffer)? {
            return match incoming {
                Incoming::Command(body) => zmtp::check_ready(&body),
                Incoming::Message(_) => Err(ZmtpError::Handshake(
                    "a message before the READY command".into(),
                )),
            };
        }
        read_more(read, buffer).await?;
    }
}

/// Reads what has arrived into `buffer`; `Closed` when the peer has closed the connection (or
/// it failed).
async fn read_more(read: &mut OwnedReadHalf, buffer: &mut BytesMut) -> Result<(), ZmtpError> {
    match read.read_buf(make_room(buffer)).await {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(ZmtpError::Closed),
    }
}

/// Room for a whole typical message in one read (an empty buffer would read 64 bytes at a time).
fn make_room(buffer: &mut BytesMut) -> &mut BytesMut {
    const READ_SIZE: usize = 16 * 1024;
    if buffer.capacity() - buffer.len() < READ_SIZE / 4 {
        buffer.reserve(READ_SIZE);
    }
    buffer
}
