use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ProtocolError;

/// The bridge's answer to every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub app_event_id: String,
    pub recommended_scale_out: i64,
}

impl Reply {
    /// Validates a decoded document field by field so that errors name the field.
    pub(super) fn from_document(document: &Value) -> Result<Reply, ProtocolError> {
        let map = document.as_object().ok_or(ProtocolError::NotAnObject {
            found: type_name(document),
        })?;
        let app_event_id = match map.get("app_event_id") {
            None => {
                return Err(ProtocolError::MissingField {
                    field: "app_event_id",
                })
            }
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(wrong_type("app_event_id", "a string", other)),
        };
        let recommended_scale_out = match map.get("recommended_scale_out") {
            None => {
                return Err(ProtocolError::MissingField {
                    field: "recommended_scale_out",
                })
            }
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) => v,
                None => {
                    return Err(wrong_type(
                        "recommended_scale_out",
                        "an integer",
                        &Value::Number(n.clone()),
                    ))
                }
            },
            Some(other) => return Err(wrong_type("recommended_scale_out", "an integer", other)),
        };
        Ok(Reply {
            app_event_id,
            recommended_scale_out,
        })
    }
}

fn wrong_type(field: &'static str, expected: &'static str, found: &Value) -> ProtocolError {
    let full = found.to_string();
    let mut shown: String = full.chars().take(40).collect();
    if shown.len() < full.len() {
        shown.push('…');
    }
    ProtocolError::WrongType {
        field,
        expected,
        found: format!("{} {shown}", type_name(found)),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
