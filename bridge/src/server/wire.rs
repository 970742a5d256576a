//! Messages in and out of the server: an event read with `pacer_protocol::read_event`, and the
//! answer to a message that cannot be handled normally.

use pacer_protocol::{read_event, Codec, Event, ProtocolError, Reply};
use serde_json::Value;

#[derive(Debug)]
pub enum Decoded {
    Event(Codec, Event),
    Bad {
        /// The codec to answer in (JSON when it could not be told).
        codec: Codec,
        problem: ProtocolError,
        /// An answer echoing the message's own scale-out, when the message names its
        /// application and scale-out despite the problem.
        fallback: Option<Reply>,
    },
}

pub fn decode(bytes: &[u8], limit: usize) -> Decoded {
    match read_event(bytes, limit) {
        (codec, Ok(event)) => Decoded::Event(codec, event),
        (codec, Err(problem)) => {
            let fallback = match problem {
                ProtocolError::TooLarge { .. } | ProtocolError::NotUtf8 => None,
                _ => echo_reply(codec, bytes),
            };
            Decoded::Bad {
                codec,
                problem,
                fallback,
            }
        }
    }
}

/// `{"app_event_id": payload.app_event_id, "recommended_scale_out": payload.num_executors}`
/// when both can be read from the document.
fn echo_reply(codec: Codec, bytes: &[u8]) -> Option<Reply> {
    let document: Value = match codec {
        Codec::Json => serde_json::from_slice(bytes).ok()?,
        Codec::MessagePack => rmp_serde::from_slice(bytes).ok()?,
    };
    let payload = document.get("payload")?;
    Some(Reply {
        app_event_id: payload.get("app_event_id")?.as_str()?.to_string(),
        recommended_scale_out: payload.get("num_executors")?.as_i64()?,
    })
}

/// The answer to a message that cannot be attributed to a run (see `Codec::encode_error`).
pub fn error_reply(codec: Codec, problem: &ProtocolError) -> Vec<u8> {
    codec.encode_error(&problem.to_string())
}

pub fn encode_reply(codec: Codec, reply: &Reply) -> Vec<u8> {
    codec.encode_reply(reply).unwrap_or_else(|e| {
        log::error!("cannot encode a reply: {e}");
        b"{}".to_vec()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    fn fallback(bytes: &[u8]) -> Option<Reply> {
        match decode(bytes, LIMIT) {
            Decoded::Bad { fallback, .. } => fallback,
            Decoded::Event(..) => panic!("decoded {:?}", String::from_utf8_lossy(bytes)),
        }
    }

    #[test]
    fn a_bad_message_naming_its_run_is_answered_with_its_own_scale_out() {
        let unknown_type =
            br#"{"event_type":"STAGE_START","payload":{"app_event_id":"7","num_executors":4}}"#;
        assert_eq!(
            fallback(unknown_type),
            Some(Reply {
                app_event_id: "7".into(),
                recommended_scale_out: 4
            })
        );
        let missing_job_id = br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"num_executors":4}}"#;
        assert_eq!(fallback(missing_job_id).unwrap().recommended_scale_out, 4);
        assert_eq!(fallback(b"hello"), None);
        assert_eq!(fallback(br#"{"event_type":"JOB_START","payload":{"#), None);
    }

    #[test]
    fn error_reply_has_no_scale_out() {
        let bytes = error_reply(Codec::Json, &ProtocolError::NotUtf8);
        assert!(Codec::Json.decode_reply(&bytes).is_err());
    }
}
