//! Messages in and out: codec detection, decoding with errors that name the field, and the
//! answer to a message that cannot be handled normally.

use pacer::protocol::{Codec, Event, Reply};
use serde_json::Value;

/// Why a message could not be handled as an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    NotUtf8,
    /// Neither a JSON object nor a MessagePack map, or broken syntax.
    Malformed(String),
    UnknownEventType(String),
    /// A missing or mistyped field; the text names it (e.g. `payload.job_id: ...`).
    InvalidField(String),
}

impl Problem {
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::TooLarge { .. } => "too large",
            Problem::NotUtf8 => "invalid UTF-8",
            Problem::Malformed(_) => "malformed",
            Problem::UnknownEventType(_) => "unknown event type",
            Problem::InvalidField(_) => "invalid field",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::TooLarge { bytes, limit } => {
                write!(f, "message of {bytes} bytes exceeds the limit of {limit}")
            }
            Problem::NotUtf8 => f.write_str("message is not valid UTF-8"),
            Problem::Malformed(detail) => write!(f, "malformed message: {detail}"),
            Problem::UnknownEventType(t) => write!(f, "unknown event_type '{t}'"),
            Problem::InvalidField(detail) => f.write_str(detail),
        }
    }
}

#[derive(Debug)]
pub enum Decoded {
    Event(Codec, Event),
    Bad {
        /// The codec to answer in (JSON when it could not be told).
        codec: Codec,
        problem: Problem,
        /// An answer echoing the message's own scale-out, when the message names its
        /// application and scale-out despite the problem.
        fallback: Option<Reply>,
    },
}

pub fn decode(bytes: &[u8], limit: usize) -> Decoded {
    if bytes.len() > limit {
        return Decoded::Bad {
            codec: Codec::detect(bytes).unwrap_or(Codec::Json),
            problem: Problem::TooLarge {
                bytes: bytes.len(),
                limit,
            },
            fallback: None,
        };
    }
    let Some(codec) = Codec::detect(bytes) else {
        let problem = if std::str::from_utf8(bytes).is_err() {
            Problem::NotUtf8
        } else {
            Problem::Malformed("expected a JSON object or a MessagePack map".into())
        };
        return Decoded::Bad {
            codec: Codec::Json,
            problem,
            fallback: None,
        };
    };
    if codec == Codec::Json && std::str::from_utf8(bytes).is_err() {
        return Decoded::Bad {
            codec,
            problem: Problem::NotUtf8,
            fallback: None,
        };
    }
    match decode_event(codec, bytes) {
        Ok(event) => Decoded::Event(codec, event),
        Err(problem) => Decoded::Bad {
            codec,
            fallback: echo_reply(codec, bytes),
            problem,
        },
    }
}

fn decode_event(codec: Codec, bytes: &[u8]) -> Result<Event, Problem> {
    match codec {
        Codec::Json => {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let event = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                let syntax = matches!(
                    e.inner().classify(),
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof
                );
                classify(e.path().to_string(), e.inner().to_string(), syntax)
            })?;
            deserializer
                .end()
                .map_err(|e| Problem::Malformed(e.to_string()))?;
            Ok(event)
        }
        Codec::MessagePack => {
            let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                let path = e.path().to_string();
                let syntax = path == "." || path.is_empty();
                classify(path, e.inner().to_string(), syntax)
            })
        }
    }
}

fn classify(path: String, detail: String, syntax: bool) -> Problem {
    if syntax {
        return Problem::Malformed(detail);
    }
    if path == "event_type" || detail.contains("unknown variant") {
        let name = detail
            .split('`')
            .nth(1)
            .map(str::to_string)
            .unwrap_or_else(|| detail.clone());
        return Problem::UnknownEventType(name);
    }
    if path.is_empty() || path == "." {
        Problem::InvalidField(detail)
    } else {
        Problem::InvalidField(format!("{path}: {detail}"))
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

/// The answer to a message that cannot be attributed to a run: a document without
/// `recommended_scale_out`, so a listener keeps its scale-out, and its REQ socket is free again.
pub fn error_reply(codec: Codec, problem: &Problem) -> Vec<u8> {
    let document = serde_json::json!({ "error": problem.to_string() });
    match codec {
        Codec::Json => serde_json::to_vec(&document).unwrap_or_default(),
        Codec::MessagePack => rmp_serde::to_vec_named(&document).unwrap_or_default(),
    }
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

    fn problem(bytes: &[u8]) -> (Problem, Option<Reply>) {
        match decode(bytes, LIMIT) {
            Decoded::Bad {
                problem, fallback, ..
            } => (problem, fallback),
            Decoded::Event(..) => panic!("decoded {:?}", String::from_utf8_lossy(bytes)),
        }
    }

    #[test]
    fn valid_messages_in_both_codecs() {
        let json = br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"job_id":2,"num_executors":3}}"#;
        let Decoded::Event(Codec::Json, event) = decode(json, LIMIT) else {
            panic!()
        };
        let packed = Codec::MessagePack.encode_event(&event).unwrap();
        assert!(
            matches!(decode(&packed, LIMIT), Decoded::Event(Codec::MessagePack, e) if e == event)
        );
    }

    #[test]
    fn bad_input_is_classified_and_named() {
        assert_eq!(problem(&[0xff, 0xfe, 0x00]).0, Problem::NotUtf8);
        assert!(matches!(problem(b"hello").0, Problem::Malformed(_)));
        assert!(matches!(
            problem(br#"{"event_type":"JOB_START","payload":{"#).0,
            Problem::Malformed(_)
        ));
        let (p, fallback) = problem(
            br#"{"event_type":"STAGE_START","payload":{"app_event_id":"7","num_executors":4}}"#,
        );
        assert_eq!(p, Problem::UnknownEventType("STAGE_START".into()));
        assert_eq!(
            fallback,
            Some(Reply {
                app_event_id: "7".into(),
                recommended_scale_out: 4
            })
        );
        let (p, fallback) = problem(br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"num_executors":4}}"#);
        assert!(
            matches!(&p, Problem::InvalidField(d) if d.contains("job_id")),
            "{p:?}"
        );
        assert_eq!(fallback.unwrap().recommended_scale_out, 4);
        let (p, _) = problem(br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"job_id":"two","num_executors":4}}"#);
        assert!(
            matches!(&p, Problem::InvalidField(d) if d.contains("payload.job_id")),
            "{p:?}"
        );
        let big = vec![b'{'; LIMIT + 1];
        assert!(matches!(problem(&big).0, Problem::TooLarge { .. }));
    }

    #[test]
    fn error_reply_has_no_scale_out() {
        let bytes = error_reply(Codec::Json, &Problem::NotUtf8);
        assert!(Codec::Json.decode_reply(&bytes).is_err());
    }
}
