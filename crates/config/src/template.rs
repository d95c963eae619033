//! [`ValueTemplate`]: text with `$Field` placeholders (`$$` is a literal `$`), as trigger
//! `values` and workflow `description`s are written. A template is parsed once when the config
//! is read; field text is inserted when it is rendered and never read as a template again.

use std::collections::BTreeMap;

use serde_json::Value;

/// True for `$Field` names: a letter or `_`, then letters, digits and `_`.
pub fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String),
}

/// One `values` entry: text with `$Field` placeholders (`$$` is a literal `$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueTemplate {
    text: String,
    pieces: Vec<Piece>,
}

impl ValueTemplate {
    pub fn parse(text: &str) -> Self {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if let Some(tail) = after.strip_prefix('$') {
                literal.push('$');
                rest = tail;
            } else if len > 0 && is_field_name(&after[..len]) {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Field(after[..len].to_owned()));
                rest = &after[len..];
            } else {
                literal.push('$');
                rest = after;
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        ValueTemplate {
            text: text.to_owned(),
            pieces,
        }
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The field names it uses.
    pub fn fields(&self) -> Vec<&str> {
        self.pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Field(name) => Some(name.as_str()),
                Piece::Text(_) => None,
            })
            .collect()
    }

    /// The values for one alert's fields. A template that is exactly one field whose value is
    /// an array gives one value per element; otherwise one value. Field text is inserted once
    /// and never read as a template again.
    pub fn render(&self, fields: &BTreeMap<String, Value>) -> Result<Vec<String>, String> {
        if let [Piece::Field(name)] = self.pieces.as_slice()
            && let Some(Value::Array(items)) = fields.get(name)
        {
            return items.iter().map(|item| scalar(name, item)).collect();
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(name) => {
                    let value = fields
                        .get(name)
                        .ok_or_else(|| format!("field `{name}` is not in the alert"))?;
                    out.push_str(&scalar(name, value)?);
                }
            }
        }
        Ok(vec![out])
    }
}

fn scalar(name: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Null => Err(format!("field `{name}` is null in the alert")),
        Value::Array(_) | Value::Object(_) => {
            Err(format!("field `{name}` is not a single value in the alert"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_text_and_fields() {
        let template = ValueTemplate::parse("http://$Host/$$x/$9");
        assert_eq!(template.fields(), ["Host"]);
        let fields = BTreeMap::from([("Host".to_owned(), Value::from("evil.example"))]);
        assert_eq!(
            template.render(&fields).unwrap(),
            ["http://evil.example/$x/$9"]
        );
    }

    #[test]
    fn arrays_give_one_value_each_only_for_a_bare_field() {
        let fields = BTreeMap::from([("Ips".to_owned(), serde_json::json!(["1.2.3.4", 5]))]);
        assert_eq!(
            ValueTemplate::parse("$Ips").render(&fields).unwrap(),
            ["1.2.3.4", "5"]
        );
        assert!(ValueTemplate::parse("x$Ips").render(&fields).is_err());
    }
}
