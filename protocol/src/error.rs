//! Why a message could not be read or written. Every decoding error names what was wrong:
//! the field (as a path such as `payload.job_id`), the event type, or the encoding.

use std::fmt;

/// Details longer than this are cut: a hostile peer must not be able to fill a log line.
const MAX_DETAIL_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// Larger than the receiver accepts.
    TooLarge { bytes: usize, limit: usize },
    /// A JSON message that is not UTF-8.
    NotUtf8,
    /// Not a document of its codec: broken syntax, truncated, or not an object/map at the top.
    Malformed(String),
    /// An envelope whose `event_type` is none of the four.
    UnknownEventType(String),
    /// A missing or mistyped field; `path` names it (`payload.job_id`, empty at the top level).
    InvalidField { path: String, detail: String },
    /// A message that cannot be written (a non-finite float in MessagePack, say).
    Encode(String),
}

impl ProtocolError {
    /// Every value [`ProtocolError::kind`] returns, so counters can start at zero.
    pub const KINDS: [&'static str; 6] = [
        "too large",
        "invalid UTF-8",
        "malformed",
        "unknown event type",
        "invalid field",
        "cannot encode",
    ];

    /// A short, stable name of the kind of error, for counters and log lines.
    pub fn kind(&self) -> &'static str {
        match self {
            ProtocolError::TooLarge { .. } => "too large",
            ProtocolError::NotUtf8 => "invalid UTF-8",
            ProtocolError::Malformed(_) => "malformed",
            ProtocolError::UnknownEventType(_) => "unknown event type",
            ProtocolError::InvalidField { .. } => "invalid field",
            ProtocolError::Encode(_) => "cannot encode",
        }
    }

    pub(crate) fn malformed(detail: impl fmt::Display) -> ProtocolError {
        ProtocolError::Malformed(bounded(detail))
    }

    pub(crate) fn invalid_field(path: String, detail: impl fmt::Display) -> ProtocolError {
        let path = if path == "." { String::new() } else { path };
        ProtocolError::InvalidField {
            path,
            detail: bounded(detail),
        }
    }
}

fn bounded(detail: impl fmt::Display) -> String {
    let full = detail.to_string();
    match full.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &full[..cut]),
        None => full,
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::TooLarge { bytes, limit } => {
                write!(f, "message of {bytes} bytes exceeds the limit of {limit}")
            }
            ProtocolError::NotUtf8 => f.write_str("message is not valid UTF-8"),
            ProtocolError::Malformed(detail) => write!(f, "malformed message: {detail}"),
            ProtocolError::UnknownEventType(name) => write!(f, "unknown event_type '{name}'"),
            ProtocolError::InvalidField { path, detail } if path.is_empty() => f.write_str(detail),
            ProtocolError::InvalidField { path, detail } => write!(f, "{path}: {detail}"),
            ProtocolError::Encode(detail) => write!(f, "cannot encode message: {detail}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_details_are_cut() {
        let error = ProtocolError::malformed("x".repeat(10_000));
        assert!(error.to_string().chars().count() < MAX_DETAIL_CHARS + 30);
        assert!(error.to_string().ends_with('…'));
        let short = ProtocolError::invalid_field("payload.job_id".into(), "missing");
        assert_eq!(short.to_string(), "payload.job_id: missing");
    }
}
