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

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_schema_is_current() {
        let committed: serde_json::Value =
            serde_json::from_str(include_str!("../../labs/schema.json"))
                .expect("labs/schema.json is JSON");
        assert!(
            committed == super::lab_schema(),
            "labs/schema.json is out of date: run `labctl schema > labs/schema.json`"
        );
    }
}
