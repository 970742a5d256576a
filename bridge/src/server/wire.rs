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
        /// An answer (encoded) echoing the message's own scale-out, when the message carries
        /// its run's `app_event_id` (or `null`, see `echo_reply`) and its scale-out despite the
        /// problem.
        fallback: Option<Vec<u8>>,
    },
}

pub fn decode(bytes: &[u8], limit: usize) -> Decoded {
    match read_event(bytes, limit) {
        (codec, Ok(event)) => Decoded::Event(codec, event),
        (codec, Err(problem)) => {
            let fallback = match problem {
                ProtocolError::TooLarge { .. } | ProtocolError::NotUtf8 => None,
                _ => echo_reply(codec, bytes, &problem),
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
///
/// The original listener sends `"app_event_id": null` after its registration failed; it can
/// only read a reply of the reply schema, so such a message is answered
/// `{"app_event_id": null, "recommended_scale_out": payload.num_executors, "error": …}` (an
/// echo: the listener keeps its scale-out; it ignores `error`), and nothing is registered. A
/// scale-out below 1 is never echoed there.
fn echo_reply(codec: Codec, bytes: &[u8], problem: &ProtocolError) -> Option<Vec<u8>> {
    let document: Value = match codec {
        Codec::Json => serde_json::from_slice(bytes).ok()?,
        Codec::MessagePack => rmp_serde::from_slice(bytes).ok()?,
    };
    let payload = document.get("payload")?;
    let num_executors = payload.get("num_executors")?.as_i64()?;
    match payload.get("app_event_id")? {
        Value::String(id) => Some(encode_reply(
            codec,
            &Reply {
                app_event_id: id.clone(),
                recommended_scale_out: num_executors,
            },
        )),
        Value::Null if num_executors >= 1 => {
            #[derive(serde::Serialize)]
            struct UnregisteredEcho<'a> {
                app_event_id: Option<&'a str>,
                recommended_scale_out: i64,
                error: &'a str,
            }
            let echo = UnregisteredEcho {
                app_event_id: None,
                recommended_scale_out: num_executors,
                error: &format!("no run registered (app_event_id is null): {problem}"),
            };
            match codec {
                Codec::Json => serde_json::to_vec(&echo).ok(),
                Codec::MessagePack => rmp_serde::to_vec_named(&echo).ok(),
            }
        }
        _ => None,
    }
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
        fallback_bytes(bytes).map(|b| Codec::Json.decode_reply(&b).unwrap())
    }

    fn fallback_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
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
    fn a_message_of_an_unregistered_run_is_echoed_in_the_reply_schema() {
        let job_start = br#"{"event_type":"JOB_START","payload":{"app_event_id":null,"app_time":1,"job_id":0,"num_executors":3}}"#;
        let reply: Value = serde_json::from_slice(&fallback_bytes(job_start).unwrap()).unwrap();
        assert_eq!(reply["app_event_id"], Value::Null);
        assert_eq!(reply["recommended_scale_out"], 3);
        assert!(reply["error"].as_str().unwrap().contains("app_event_id"));
        let app_end = br#"{"event_type":"APPLICATION_END","payload":{"app_event_id":null,"app_time":1,"num_executors":1}}"#;
        let reply: Value = serde_json::from_slice(&fallback_bytes(app_end).unwrap()).unwrap();
        assert_eq!(reply["recommended_scale_out"], 1);
        // Never a reply that could scale a listener to 0.
        let none = br#"{"event_type":"JOB_END","payload":{"app_event_id":null,"app_time":1,"job_id":0,"num_executors":0}}"#;
        assert_eq!(fallback_bytes(none), None);
    }

    #[test]
    fn error_reply_has_no_scale_out() {
        let bytes = error_reply(Codec::Json, &ProtocolError::NotUtf8);
        assert!(Codec::Json.decode_reply(&bytes).is_err());
    }
}
