//! The servers' validation rules and their 400 texts.

use serde_json::Value;

const METRIC_TYPES: [&str; 3] = ["counter", "histogram", "gauge"];

/// Checks an error report body; `Err(detail)` is the server's 400 text.
pub(crate) fn error_report(body: &[u8]) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "Invalid JSON".to_owned())?;
    let Some(object) = value.as_object() else {
        return Err("Request body must be a JSON object".into());
    };
    for field in ["project", "exception_type", "message", "traceback"] {
        if !object.get(field).is_some_and(Value::is_string) {
            return Err(format!("Missing required field: {field}"));
        }
    }
    let chars = |field: &str| object[field].as_str().map_or(0, |s| s.chars().count());
    if chars("project") > 100 {
        return Err("Field 'project' exceeds maximum length of 100 characters".into());
    }
    if chars("exception_type") > 200 {
        return Err("Field 'exception_type' exceeds maximum length of 200 characters".into());
    }
    Ok(value)
}

/// Checks a metrics batch; `Err(detail)` is the server's 400 text.
pub(crate) fn metrics_batch(body: &[u8]) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "Invalid JSON".to_owned())?;
    let Value::Array(items) = value else {
        return Err("Request body must be a JSON array".into());
    };
    if items.is_empty() {
        return Err("Metrics array must not be empty".into());
    }
    if items.len() > 1000 {
        return Err("Metrics batch exceeds maximum of 1000 items".into());
    }
    for (i, item) in items.iter().enumerate() {
        metric(item).map_err(|e| format!("Invalid metric at index {i}: {e}"))?;
    }
    Ok(items)
}

fn metric(item: &Value) -> Result<(), &'static str> {
    let object = item.as_object().ok_or("must be an object")?;
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or("missing field: name")?;
    let name_chars = name.chars().count();
    if !(1..=200).contains(&name_chars) {
        return Err("name must be 1 to 200 characters");
    }
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or("missing field: type")?;
    if !METRIC_TYPES.contains(&kind) {
        return Err("type must be counter, histogram or gauge");
    }
    if !object.get("value").is_some_and(Value::is_number) {
        return Err("value must be a number");
    }
    if let Some(labels) = object.get("labels") {
        let labels = labels.as_object().ok_or("labels must be an object")?;
        if !labels.values().all(Value::is_string) {
            return Err("label values must be strings");
        }
    }
    if object.get("timestamp").is_some_and(|t| !t.is_string()) {
        return Err("timestamp must be a string");
    }
    if object.get("project").is_some_and(|p| !p.is_string()) {
        return Err("project must be a string");
    }
    Ok(())
}
