use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Event, ProtocolError, Reply};

/// How a message is written on the wire. JSON is what the original listener and every existing
/// bridge speak; MessagePack (maps with named fields) is the compact alternative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    #[default]
    Json,
    MessagePack,
}

impl Codec {
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

    pub fn decode_event(self, bytes: &[u8]) -> Result<Event, ProtocolError> {
        self.decode(bytes)
    }

    pub fn encode_reply(self, reply: &Reply) -> Result<Vec<u8>, ProtocolError> {
        self.encode(reply)
    }

    /// Decodes a bridge reply, ignoring unknown fields; a missing or mistyped
    /// `recommended_scale_out` or `app_event_id` is an error naming the field.
    pub fn decode_reply(self, bytes: &[u8]) -> Result<Reply, ProtocolError> {
        let document: serde_json::Value = self.decode(bytes)?;
        Reply::from_document(&document)
    }

    fn encode<T: Serialize>(self, value: &T) -> Result<Vec<u8>, ProtocolError> {
        let encoded = match self {
            Codec::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
            Codec::MessagePack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
        };
        encoded.map_err(|detail| ProtocolError::Encode { detail })
    }

    fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, ProtocolError> {
        let decoded = match self {
            Codec::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
            Codec::MessagePack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
        };
        decoded.map_err(|detail| ProtocolError::Malformed {
            codec: self.name(),
            detail,
        })
    }
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
