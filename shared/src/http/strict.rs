//! JSON parsing that refuses duplicate keys. `serde_json` keeps the last of two equal keys,
//! while other parsers (a WAF, a proxy, the app's own backend) may keep the first: the same
//! body would then mean two things. RFC 8259 leaves it open; I-JSON (RFC 7493) forbids it, and
//! so do we, at any depth.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a body did not parse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// Not JSON (syntax, trailing characters, nesting over serde_json's limit).
    Syntax,
    /// A key repeated in one object. `field` is the top-level field it sits in (truncated);
    /// `nested` is false when the top-level field itself is repeated.
    Duplicate {
        /// Top-level field name, at most 64 characters.
        field: String,
        /// The repeat is inside the field's value.
        nested: bool,
    },
}

/// Parses one JSON value, refusing an object that repeats a key.
pub(crate) fn from_slice(bytes: &[u8]) -> Result<Value, Error> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue {
        field: None,
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some((field, nested))) => Err(Error::Duplicate { field, nested }),
        (Err(_), None) => Err(Error::Syntax),
    }
}

/// A value inside top-level field `field` (`None` at the top).
#[derive(Clone, Copy)]
struct StrictValue<'a> {
    field: Option<&'a str>,
    duplicate: &'a RefCell<Option<(String, bool)>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let field = self.field.unwrap_or(&key);
            if obj.contains_key(&key) {
                let name = field.chars().take(64).collect();
                *self.duplicate.borrow_mut() = Some((name, self.field.is_some()));
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(StrictValue {
                field: Some(field),
                duplicate: self.duplicate,
            })?;
            obj.insert(key, value);
        }
        Ok(Value::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_repeated_key_is_refused_at_any_depth_and_named_by_its_top_level_field() {
        assert_eq!(
            from_slice(br#"{"email":"a@example.com","email":"b@example.com"}"#),
            Err(Error::Duplicate {
                field: "email".into(),
                nested: false
            })
        );
        assert_eq!(
            from_slice(br#"{"locale":{"a":1,"b":[{"c":1,"c":2}]}}"#),
            Err(Error::Duplicate {
                field: "locale".into(),
                nested: true
            })
        );
        // Equal after unescaping is equal.
        assert_eq!(
            from_slice(br#"{"code":"x","\u0063ode":"y"}"#),
            Err(Error::Duplicate {
                field: "code".into(),
                nested: false
            })
        );
        assert_eq!(from_slice(br#"{"a":1} x"#), Err(Error::Syntax));
        assert_eq!(from_slice(b"{\"a\":"), Err(Error::Syntax));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(from_slice(deep.as_bytes()), Err(Error::Syntax));
    }

    proptest! {
        #[test]
        fn without_repeated_keys_it_parses_exactly_like_serde_json(v in json_value()) {
            let text = v.to_string();
            prop_assert_eq!(from_slice(text.as_bytes()), Ok(serde_json::from_str::<Value>(&text).unwrap()));
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e300..1e300f64).prop_map(Value::from),
            "\\PC{0,10}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
