//! The DICOM JSON model (PS3.18 §F.2): attributes keyed by tag, each with its VR and values.

use serde_json::{Map, Value, json};

/// One dataset being built, attribute by attribute; absent values are left out.
#[derive(Default)]
pub struct Dataset(Map<String, Value>);

impl Dataset {
    pub fn new() -> Self {
        Dataset::default()
    }

    fn put(&mut self, tag: &str, vr: &str, values: Vec<Value>) -> &mut Self {
        let mut attribute = Map::new();
        attribute.insert("vr".into(), vr.into());
        if !values.is_empty() {
            attribute.insert("Value".into(), Value::Array(values));
        }
        self.0.insert(tag.into(), Value::Object(attribute));
        self
    }

    /// A string-valued attribute (UI, LO, SH, CS, DA, TM, UR...); `None` gives an empty attribute.
    pub fn text(&mut self, tag: &str, vr: &str, value: Option<&str>) -> &mut Self {
        self.put(tag, vr, value.map(|v| vec![json!(v)]).unwrap_or_default())
    }

    pub fn texts(&mut self, tag: &str, vr: &str, values: &[String]) -> &mut Self {
        self.put(tag, vr, values.iter().map(|v| json!(v)).collect())
    }

    /// A person name, in its alphabetic representation.
    /// A person name as DICOM JSON writes it (PS3.18 §F.2.2): its component groups, split at
    /// `=`, under `Alphabetic`, `Ideographic` and `Phonetic`; empty groups are left out.
    pub fn person(&mut self, tag: &str, value: Option<&str>) -> &mut Self {
        self.put(tag, "PN", value.map(|v| vec![person_name(v)]).unwrap_or_default())
    }

    pub fn number(&mut self, tag: &str, vr: &str, value: Option<i64>) -> &mut Self {
        self.put(tag, vr, value.map(|v| vec![json!(v)]).unwrap_or_default())
    }

    pub fn sequence(&mut self, tag: &str, items: Vec<Dataset>) -> &mut Self {
        self.put(tag, "SQ", items.into_iter().map(Dataset::into_value).collect())
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// A date column as DICOM DA (YYYYMMDD).
pub fn da(date: Option<time::Date>) -> Option<String> {
    date.map(|d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_follow_the_json_model() {
        let mut ds = Dataset::new();
        ds.text("0020000D", "UI", Some("1.2.3")).person("00100010", Some("Doe^Jane")).text("00080050", "SH", None);
        let value = ds.into_value();
        assert_eq!(value["0020000D"], json!({ "vr": "UI", "Value": ["1.2.3"] }));
        assert_eq!(value["00100010"], json!({ "vr": "PN", "Value": [{ "Alphabetic": "Doe^Jane" }] }));
        assert_eq!(value["00080050"], json!({ "vr": "SH" }));
    }

    #[test]
    fn dates_are_da() {
        assert_eq!(da(time::Date::from_calendar_date(2024, time::Month::March, 5).ok()).as_deref(), Some("20240305"));
    }
}

/// `Family^Given=家族^名=phonetic` as `{"Alphabetic": ..., "Ideographic": ..., "Phonetic": ...}`.
fn person_name(value: &str) -> Value {
    let mut object = serde_json::Map::new();
    for (key, group) in ["Alphabetic", "Ideographic", "Phonetic"].into_iter().zip(value.splitn(3, '=')) {
        if !group.is_empty() {
            object.insert(key.to_owned(), Value::String(group.to_owned()));
        }
    }
    Value::Object(object)
}

#[cfg(test)]
mod person_name_tests {
    use super::person_name;
    use serde_json::json;

    #[test]
    fn component_groups_become_the_three_json_keys() {
        assert_eq!(
            person_name("Wang^XiaoMing=王^小明=wang^xiao ming"),
            json!({ "Alphabetic": "Wang^XiaoMing", "Ideographic": "王^小明", "Phonetic": "wang^xiao ming" })
        );
        assert_eq!(person_name("DOE^JANE"), json!({ "Alphabetic": "DOE^JANE" }));
        assert_eq!(person_name("=王^小明"), json!({ "Ideographic": "王^小明" }));
        assert_eq!(person_name("Wang^XiaoMing==wang"), json!({ "Alphabetic": "Wang^XiaoMing", "Phonetic": "wang" }));
    }
}
