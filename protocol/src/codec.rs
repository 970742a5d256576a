//! The two encodings of a message and the one way to read and write them. JSON is what the
//! original listener and every existing bridge speak; MessagePack (maps with named fields) is
//! the compact alternative. A message that fails to decode is decoded again through
//! `serde_path_to_error`, so the error names the field that was missing or of the wrong type.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Event, ProtocolError, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Codec {
    #[default]
    Json,
    #[cfg_attr(feature = "clap", value(name = "msgpack"))]
    MessagePack,
}

impl Codec {
    pub const ALL: [Codec; 2] = [Codec::Json, Codec::MessagePack];

    pub fn name(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::MessagePack => "msgpack",
        }
    }

    /// Guesses the codec from the first byte: a JSON document starts with `{` (after
    /// whitespace), a MessagePack map with a map marker.
    pub fn detect(bytes: &[u8]) -> Option<Codec> {
        let first = *bytes.iter().find(|b| !b.is_ascii_whitespace())?;
        match first {
            b'{' => Some(Codec::Json),
            0x80..=0x8f | 0xde | 0xdf => Some(Codec::MessagePack),
            _ => None,
        }
    }

    pub fn encode_event(self, event: &Event) -> Result<Vec<u8>, ProtocolError> {
        self.encode(event)
    }

    pub fn encode_reply(self, reply: &Reply) -> Result<Vec<u8>, ProtocolError> {
        self.encode(reply)
    }

    /// `{"error": message}`: the answer to a message that cannot be attributed to a run. It has
    /// no `recommended_scale_out`, so a listener keeps its scale-out, and its REQ socket is free
    /// for the next request.
    pub fn encode_error(self, message: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct ErrorReply<'a> {
            error: &'a str,
        }
        self.encode(&ErrorReply { error: message })
            .unwrap_or_else(|_| b"{}".to_vec())
    }

    /// Decodes an event; unknown fields are ignored, a missing or mistyped one is an error
    /// naming it.
    pub fn decode_event(self, bytes: &[u8]) -> Result<Event, ProtocolError> {
        self.decode(bytes)
    }

    /// Decodes a bridge's reply; unknown fields are ignored, a missing or mistyped
    /// `recommended_scale_out` or `app_event_id` is an error naming the field.
    pub fn decode_reply(self, bytes: &[u8]) -> Result<Reply, ProtocolError> {
        self.decode(bytes)
    }

    fn encode<T: Serialize>(self, value: &T) -> Result<Vec<u8>, ProtocolError> {
        let encoded = match self {
            Codec::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
            Codec::MessagePack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
        };
        encoded.map_err(ProtocolError::Encode)
    }

    fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, ProtocolError> {
        // The fast path; only a message that fails is decoded again, tracking the path to
        // the field at fault for the error.
        if Codec::detect(bytes) == Some(self) {
            let decoded = match self {
                // Checked as UTF-8 once as a whole (from_slice checks every string again).
                Codec::Json => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| serde_json::from_str(text).ok()),
                Codec::MessagePack => rmp_serde::from_slice(bytes).ok(),
            };
            if let Some(value) = decoded {
                return Ok(value);
            }
        }
        self.decode_explained(bytes)
    }

    fn decode_explained<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, ProtocolError> {
        if self == Codec::Json && std::str::from_utf8(bytes).is_err() {
            return Err(ProtocolError::NotUtf8);
        }
        if Codec::detect(bytes) != Some(self) {
            return Err(ProtocolError::malformed(match self {
                Codec::Json => "expected a JSON object",
                Codec::MessagePack => "expected a MessagePack map",
            }));
        }
        match self {
            Codec::Json => {
                let mut deserializer = serde_json::Deserializer::from_slice(bytes);
                let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                    let syntax = matches!(
                        e.inner().classify(),
                        serde_json::error::Category::Syntax | serde_json::error::Category::Eof
                    );
                    classify(e.path().to_string(), e.inner(), syntax)
                })?;
                deserializer.end().map_err(ProtocolError::malformed)?;
                Ok(value)
            }
            Codec::MessagePack => {
                use rmp_serde::decode::Error;
                let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
                serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                    // Serde's own errors (missing field, invalid type, unknown variant) arrive
                    // as `Syntax`; the rest are about the bytes themselves.
                    let syntax = !matches!(
                        e.inner(),
                        Error::Syntax(_) | Error::TypeMismatch(_) | Error::OutOfRange
                    );
                    classify(e.path().to_string(), e.inner(), syntax)
                })
            }
        }
    }
}

/// Reads an event in whichever codec it is written, refusing more than `limit` bytes. Returns
/// the codec to answer in (JSON when it cannot be told) with the result.
pub fn read_event(bytes: &[u8], limit: usize) -> (Codec, Result<Event, ProtocolError>) {
    let detected = Codec::detect(bytes);
    let codec = detected.unwrap_or(Codec::Json);
    if bytes.len() > limit {
        let error = ProtocolError::TooLarge {
            bytes: bytes.len(),
            limit,
        };
        return (codec, Err(error));
    }
    if detected.is_none() {
        let error = if std::str::from_utf8(bytes).is_err() {
            ProtocolError::NotUtf8
        } else {
            ProtocolError::malformed("expected a JSON object or a MessagePack map")
        };
        return (codec, Err(error));
    }
    (codec, codec.decode_event(bytes))
}

fn classify(path: String, detail: impl std::fmt::Display, syntax: bool) -> ProtocolError {
    let detail = detail.to_string();
    if syntax {
        return ProtocolError::malformed(detail);
    }
    if path == "event_type" || detail.contains("unknown variant") {
        let name = detail.split('`').nth(1).unwrap_or(&detail);
        return ProtocolError::UnknownEventType(name.chars().take(100).collect());
    }
    ProtocolError::invalid_field(path, detail)
}

impl FromStr for Codec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Codec::Json),
            "msgpack" | "messagepack" => Ok(Codec::MessagePack),
            other => Err(format!("unknown codec '{other}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    fn error(bytes: &[u8]) -> ProtocolError {
        match read_event(bytes, LIMIT) {
            (_, Err(error)) => error,
            (_, Ok(event)) => panic!("{:?} decoded as {event:?}", String::from_utf8_lossy(bytes)),
        }
    }

    #[test]
    fn events_are_read_in_either_codec() {
        let json = br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"job_id":2,"num_executors":3}}"#;
        let (Codec::Json, Ok(event)) = read_event(json, LIMIT) else {
            panic!()
        };
        let packed = Codec::MessagePack.encode_event(&event).unwrap();
        assert_eq!(read_event(&packed, LIMIT), (Codec::MessagePack, Ok(event)));
    }

    #[test]
    fn bad_input_is_classified_and_named() {
        assert_eq!(error(&[0xff, 0xfe, 0x00]), ProtocolError::NotUtf8);
        assert!(matches!(error(b"hello"), ProtocolError::Malformed(_)));
        assert!(matches!(
            error(br#"{"event_type":"JOB_START","payload":{"#),
            ProtocolError::Malformed(_)
        ));
        assert!(matches!(
            error(br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"job_id":2,"num_executors":3}} trailing"#),
            ProtocolError::Malformed(_)
        ));
        assert_eq!(
            error(br#"{"event_type":"STAGE_START","payload":{"app_event_id":"7"}}"#),
            ProtocolError::UnknownEventType("STAGE_START".into())
        );
        let missing = error(
            br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"num_executors":4}}"#,
        );
        assert!(
            matches!(&missing, ProtocolError::InvalidField { path, detail }
                if path == "payload" && detail.contains("job_id")),
            "{missing:?}"
        );
        let mistyped = error(
            br#"{"event_type":"JOB_START","payload":{"app_event_id":"7","app_time":1,"job_id":"two","num_executors":4}}"#,
        );
        assert!(
            matches!(&mistyped, ProtocolError::InvalidField { path, .. } if path == "payload.job_id"),
            "{mistyped:?}"
        );
        assert!(mistyped.to_string().starts_with("payload.job_id: "));
        let big = vec![b'{'; LIMIT + 1];
        assert!(matches!(error(&big), ProtocolError::TooLarge { .. }));
    }

    #[test]
    fn messagepack_errors_name_the_field_too() {
        let document = serde_json::json!({"event_type": "JOB_START",
            "payload": {"app_event_id": "7", "app_time": 1, "job_id": "two", "num_executors": 4}});
        let packed = rmp_serde::to_vec_named(&document).unwrap();
        assert!(matches!(error(&packed),
            ProtocolError::InvalidField { path, .. } if path == "payload.job_id"));
        let valid = Codec::MessagePack
            .encode_event(&Event::JobStart(crate::samples::job_start()))
            .unwrap();
        let truncated = error(&valid[..valid.len() - 3]);
        assert!(
            matches!(truncated, ProtocolError::Malformed(_)),
            "{truncated:?}"
        );
    }

    #[test]
    fn the_error_reply_has_no_scale_out() {
        for codec in Codec::ALL {
            let bytes = codec.encode_error("bad");
            assert!(matches!(
                codec.decode_reply(&bytes),
                Err(ProtocolError::InvalidField { .. })
            ));
        }
    }
}
