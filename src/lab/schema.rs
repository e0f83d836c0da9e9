//! The JSON Schema of lab files, generated from the model, for editors
//! (`labctl schema`, committed as `labs/schema.json`) and for the shape check.

use serde_json::Value;

use super::model::Lab;

pub fn lab_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Lab)).expect("schema is JSON");
    if let Some(object) = schema.as_object_mut() {
        object.insert("title".into(), Value::from("labctl lab file"));
    }
    schema
}
