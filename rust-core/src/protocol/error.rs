use std::fmt;

/// Why a message could not be encoded or decoded. Messages name the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The bytes are not a document of the codec at all (bad JSON, truncated MessagePack...).
    Malformed {
        codec: &'static str,
        detail: String,
    },
    /// The document is not a map/object where one is required.
    NotAnObject {
        found: &'static str,
    },
    MissingField {
        field: &'static str,
    },
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: String,
    },
    /// A field decoded but does not fit the expected shape (e.g. unknown event type).
    Invalid {
        detail: String,
    },
    Encode {
        detail: String,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Malformed { codec, detail } => {
                write!(f, "malformed {codec} message: {detail}")
            }
            ProtocolError::NotAnObject { found } => {
                write!(f, "expected a map/object, found {found}")
            }
            ProtocolError::MissingField { field } => write!(f, "missing field `{field}`"),
            ProtocolError::WrongType {
                field,
                expected,
                found,
            } => {
                write!(f, "field `{field}`: expected {expected}, found {found}")
            }
            ProtocolError::Invalid { detail } => f.write_str(detail),
            ProtocolError::Encode { detail } => write!(f, "cannot encode message: {detail}"),
        }
    }
}

impl std::error::Error for ProtocolError {}
