//! Property lists: strict through the `plist` crate, with a lenient XML fallback so a
//! malformed profile can still be described while it is refused.

use base64::Engine;
use plist::{Dictionary, Value};

/// A parsed plist and, when only the lenient reader took it, why the strict one refused.
pub struct Parsed {
    pub value: Value,
    pub strict_error: Option<String>,
}

pub fn parse(data: &[u8]) -> Result<Parsed, String> {
    match Value::from_reader(std::io::Cursor::new(data)) {
        Ok(value) => Ok(Parsed {
            value,
            strict_error: None,
        }),
        Err(strict) => {
            let value = lenient_xml(data).map_err(|_| strict.to_string())?;
            Ok(Parsed {
                value,
                strict_error: Some(strict.to_string()),
            })
        }
    }
}

/// Reads an XML plist, replacing `<data>` that is not valid base64 with empty data.
fn lenient_xml(data: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let doc = roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "plist" {
        return Err("root element is not <plist>".into());
    }
    let first = root
        .children()
        .find(|n| n.is_element())
        .ok_or("empty <plist>")?;
    node_value(first, 0)
}

fn node_value(n: roxmltree::Node<'_, '_>, depth: u32) -> Result<Value, String> {
    if depth > 32 {
        return Err("nesting too deep".into());
    }
    let text = || n.text().unwrap_or("").trim().to_owned();
    Ok(match n.tag_name().name() {
        "dict" => {
            let mut d = Dictionary::new();
            let mut key: Option<String> = None;
            for c in n.children().filter(|c| c.is_element()) {
                if c.tag_name().name() == "key" {
                    key = Some(c.text().unwrap_or("").to_owned());
                } else if let Some(k) = key.take() {
                    d.insert(k, node_value(c, depth + 1)?);
                }
            }
            Value::Dictionary(d)
        }
        "array" => Value::Array(
            n.children()
                .filter(|c| c.is_element())
                .map(|c| node_value(c, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        "string" => Value::String(n.text().unwrap_or("").to_owned()),
        "integer" => Value::Integer(
            text()
                .parse::<i64>()
                .map_err(|e| format!("bad integer: {e}"))?
                .into(),
        ),
        "real" => Value::Real(text().parse::<f64>().map_err(|e| e.to_string())?),
        "true" => Value::Boolean(true),
        "false" => Value::Boolean(false),
        "date" => Value::Date(
            plist::Date::from_xml_format(&text()).map_err(|e| format!("bad date: {e}"))?,
        ),
        "data" => {
            let compact: String = text().chars().filter(|c| !c.is_whitespace()).collect();
            Value::Data(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default(),
            )
        }
        other => return Err(format!("unknown element <{other}>")),
    })
}

pub fn get_str<'a>(d: &'a Dictionary, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_string)
}

pub fn get_bool(d: &Dictionary, key: &str) -> Option<bool> {
    d.get(key).and_then(Value::as_boolean)
}

/// Unix seconds of a plist date.
pub fn get_date(d: &Dictionary, key: &str) -> Option<i64> {
    let date = d.get(key)?.as_date()?;
    let st: std::time::SystemTime = date.into();
    match st.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok(),
        Err(e) => i64::try_from(e.duration().as_secs()).ok().map(|s| -s),
    }
}

/// Plist values as JSON, for `details` (data becomes base64).
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Dictionary(d) => {
            serde_json::Value::Object(d.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Value::Boolean(b) => (*b).into(),
        Value::Data(d) => base64::engine::general_purpose::STANDARD.encode(d).into(),
        Value::Date(d) => d.to_xml_format().into(),
        Value::Real(r) => serde_json::Number::from_f64(*r)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Integer(i) => i
            .as_signed()
            .map(Into::into)
            .or_else(|| i.as_unsigned().map(Into::into))
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) => s.clone().into(),
        Value::Uid(u) => u.get().into(),
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_reader_survives_bad_base64() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>A</key><data>Samp!e</data><key>B</key><string>b</string></dict></plist>"#;
        let p = parse(xml).unwrap();
        assert!(p.strict_error.is_some());
        let d = p.value.as_dictionary().unwrap();
        assert_eq!(get_str(d, "B"), Some("b"));
    }
}
