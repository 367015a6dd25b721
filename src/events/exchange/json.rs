//! A JSON record read in place: the audit log's records ([`super::ual`], [`super::ual_mail`])
//! are looked at once and dropped, so their text is borrowed from the row or line it came
//! from (a string is copied only when it holds an escape), objects are lists of pairs in the
//! record's order (no hashing, no map), and numbers keep serde_json's [`Number`].
//!
//! It answers as `serde_json::Value` with `preserve_order` would for the same text: a key
//! named twice gives its last value ([`Json::key`]), an object is written with each key once,
//! at its first place ([`Json`]'s `Display`, compact like `Value::to_string`). To read a new
//! shape: an accessor here, beside [`Json::key`], [`Json::as_array`] and [`Json::as_str`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// One JSON value borrowing its text.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
    Arr(Vec<Json<'a>>),
    /// Keys and values in the order written (a repeated key appears twice).
    Obj(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The value `text` holds (serde_json's grammar and nesting limit).
    pub fn parse(text: &'a str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }

    /// The value `bytes` hold (UTF-8 JSON).
    pub fn parse_bytes(bytes: &'a [u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }

    /// The value under key `name` of an object, any case: the first key that matches, with
    /// the last value written under that same key.
    pub fn key(&self, name: &str) -> Option<&Json<'a>> {
        let Json::Obj(pairs) = self else {
            return None;
        };
        let mut found: Option<&(Cow<'a, str>, Json<'a>)> = None;
        for pair in pairs {
            if !pair.0.eq_ignore_ascii_case(name) {
                continue;
            }
            match found {
                Some(f) if f.0 != pair.0 => {}
                _ => found = Some(pair),
            }
        }
        found.map(|(_, v)| v)
    }

    /// The items of an array.
    pub fn as_array(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Json<'_> {
    /// Compact JSON, as `serde_json::Value::to_string` writes the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Num(n) => write!(f, "{n}"),
            Json::Str(s) => string(f, s),
            Json::Arr(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Obj(pairs) => {
                // Each key once, at its first place, with its last value (as a map holds it).
                let mut places: HashMap<&str, (usize, usize)> = HashMap::new();
                for (i, (k, _)) in pairs.iter().enumerate() {
                    places.entry(k).and_modify(|p| p.1 = i).or_insert((i, i));
                }
                f.write_str("{")?;
                let mut first = true;
                for (i, (k, _)) in pairs.iter().enumerate() {
                    let Some(&(at, last)) = places.get(k.as_ref()) else {
                        continue;
                    };
                    if at != i {
                        continue;
                    }
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    string(f, k)?;
                    write!(f, ":{}", pairs[last].1)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A JSON string literal, escaped as serde_json escapes it.
fn string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
    f.write_str(&quoted)
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Num(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Num(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Num))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::Str(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Key(k)) = map.next_key()? {
            pairs.push((k, map.next_value()?));
        }
        Ok(Json::Obj(pairs))
    }
}

/// An object's key, borrowed when it has no escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s.to_string())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Texts whose reading must agree with serde_json's `Value` (written form and key lookups).
    const CASES: &[&str] = &[
        r#"{"Operation":"New-InboxRule","n":-3,"u":18446744073709551615,"f":1.0,"e":2.5e-3,"t":true,"z":null}"#,
        r#"{"a":"x\"y\\z\u0001\u00e9\ud83d\ude00","b":[1,[2,{"c":"d"}],{}],"a":"last"}"#,
        r#"{"Operation":"first","operation":"lower","Operation":"again"}"#,
        r#"[{"Name":"From","Value":{"k":[1,2],"k":"x"}},"s",-0.0,1e300]"#,
        r#"  {"empty":"","sp":"  x  ","nested":{"deep":{"deeper":[null,false]}}}  "#,
    ];

    #[test]
    fn written_as_serde_json_writes_the_same_value() {
        for text in CASES {
            let ours = Json::parse(text).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }

    #[test]
    fn keys_found_as_serde_json_finds_them() {
        for text in CASES {
            let ours = Json::parse(text).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            let Some(map) = theirs.as_object() else {
                continue;
            };
            let names = map.keys().map(String::as_str);
            for name in names.chain(["OPERATION", "missing"]) {
                let want = map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_string());
                let got = ours.key(name).map(|v| v.to_string());
                assert_eq!(got, want, "{name} in {text}");
            }
        }
    }

    #[test]
    fn text_without_escapes_is_borrowed() {
        let v = Json::parse(r#"{"plain":"abc","esc":"a\nb"}"#).unwrap();
        assert!(matches!(
            v.key("plain"),
            Some(Json::Str(Cow::Borrowed("abc")))
        ));
        assert!(matches!(v.key("esc"), Some(Json::Str(Cow::Owned(s))) if s == "a\nb"));
        let Json::Obj(pairs) = &v else {
            panic!("an object")
        };
        assert!(pairs.iter().all(|(k, _)| matches!(k, Cow::Borrowed(_))));
    }

    #[test]
    fn what_serde_json_refuses_is_refused() {
        for bad in [
            "{\"a\":}",
            "{\"a\":1",
            "[1,]",
            "\"\\x\"",
            &"[".repeat(200),
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(Json::parse(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<Value>(bad).is_err(), "{bad}");
        }
        assert!(Json::parse_bytes(b"{\"a\":\"\xff\"}").is_err());
    }
}
