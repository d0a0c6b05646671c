//! Typed reads of a JSON request object with errors that name the offending field
//! (`tax_rates.standard`), so a bad write is a 422 that says exactly what to fix.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The field is not part of the request at all (422 `unknown_field`), rather than invalid.
    pub unknown: bool,
}

impl FieldError {
    pub fn unknown(field: impl Into<String>) -> FieldError {
        let field = field.into();
        FieldError {
            message: format!("unknown field `{field}`: it is not part of this request"),
            field,
            unknown: true,
        }
    }

    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            unknown: false,
        }
    }
}

/// A JSON object being read, with the path that leads to it (for error names).
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Fields<'a> {
        Fields {
            map,
            prefix: String::new(),
        }
    }

    /// Reads an object found at `prefix` (e.g. `products[3]`), for nested error names.
    pub fn nested(map: &'a Map<String, Value>, prefix: String) -> Fields<'a> {
        Fields { map, prefix }
    }

    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// The first key not in `allowed`, as a path (for `unknown_field`).
    pub fn unknown(&self, allowed: &[&str]) -> Option<String> {
        self.map
            .keys()
            .find(|k| !allowed.contains(&k.as_str()))
            .map(|k| self.path(k))
    }

    /// Refuses the first key not in `allowed` as an unknown field.
    pub fn only(&self, allowed: &[&str]) -> Result<(), FieldError> {
        self.unknown(allowed)
            .map_or(Ok(()), |f| Err(FieldError::unknown(f)))
    }

    /// Whether the body names `name` at all, `null` included.
    pub fn sent(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn required(&self, name: &str) -> Result<&'a Value, FieldError> {
        self.present(name).ok_or_else(|| {
            FieldError::new(self.path(name), format!("{} is required", self.path(name)))
        })
    }

    /// A required (non-null) value of any type.
    pub fn value(&self, name: &str) -> Result<&'a Value, FieldError> {
        self.required(name)
    }

    /// A required Money object (`product::money`), naming `name.amount` or `name.currency`.
    pub fn money(&self, name: &str) -> Result<crate::domain::money::Money, FieldError> {
        crate::domain::product::money(self.required(name)?, &self.path(name))
    }

    /// An optional one: absent or null is none.
    pub fn opt_money(&self, name: &str) -> Result<Option<crate::domain::money::Money>, FieldError> {
        self.present(name)
            .map(|v| crate::domain::product::money(v, &self.path(name)))
            .transpose()
    }

    pub fn string(&self, name: &str) -> Result<&'a str, FieldError> {
        self.required(name)?
            .as_str()
            .ok_or_else(|| FieldError::new(self.path(name), "must be a string"))
    }

    pub fn opt_string(&self, name: &str) -> Result<Option<&'a str>, FieldError> {
        match self.present(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| FieldError::new(self.path(name), "must be a string")),
        }
    }

    /// A required line of text, trimmed: 1 to `max` characters, none of them a control
    /// character.
    pub fn text(&self, name: &str, max: usize) -> Result<String, FieldError> {
        let v = self.string(name)?.trim();
        if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
            return Err(FieldError::new(
                self.path(name),
                format!("must be 1 to {max} characters"),
            ));
        }
        Ok(v.to_string())
    }

    /// An optional line of text, trimmed: absent, null or blank is none; else at most `max`
    /// characters, none of them a control character.
    pub fn opt_text(&self, name: &str, max: usize) -> Result<Option<String>, FieldError> {
        match self.opt_string(name)?.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(
                FieldError::new(self.path(name), format!("must be at most {max} characters")),
            ),
            Some(v) => Ok(Some(v.to_string())),
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool, FieldError> {
        self.required(name)?
            .as_bool()
            .ok_or_else(|| FieldError::new(self.path(name), "must be true or false"))
    }

    pub fn string_list(&self, name: &str, max: usize) -> Result<Vec<&'a str>, FieldError> {
        self.opt_string_list(name, max)?.ok_or_else(|| {
            FieldError::new(self.path(name), format!("{} is required", self.path(name)))
        })
    }

    pub fn opt_string_list(
        &self,
        name: &str,
        max: usize,
    ) -> Result<Option<Vec<&'a str>>, FieldError> {
        let Some(value) = self.present(name) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| FieldError::new(self.path(name), "must be an array of strings"))?;
        if items.len() > max {
            return Err(FieldError::new(
                self.path(name),
                format!("at most {max} items"),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().ok_or_else(|| {
                    FieldError::new(format!("{}[{i}]", self.path(name)), "must be a string")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An array of objects, each readable with its own path (`variants[2]`).
    pub fn objects(
        &self,
        name: &str,
        min: usize,
        max: usize,
    ) -> Result<Vec<Fields<'a>>, FieldError> {
        let items = self
            .required(name)?
            .as_array()
            .ok_or_else(|| FieldError::new(self.path(name), "must be an array"))?;
        if items.len() < min || items.len() > max {
            return Err(FieldError::new(
                self.path(name),
                format!("must hold {min} to {max} items"),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let path = format!("{}[{i}]", self.path(name));
                v.as_object()
                    .map(|m| Fields::nested(m, path.clone()))
                    .ok_or_else(|| FieldError::new(path, "must be an object"))
            })
            .collect()
    }

    /// An integer within `range` (JSON numbers with a fraction or exponent are refused).
    pub fn int(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<i64, FieldError> {
        let value = self.required(name)?;
        let n = value.as_i64().filter(|_| value.is_i64() || value.is_u64());
        match n {
            Some(n) if range.contains(&n) => Ok(n),
            _ => Err(FieldError::new(
                self.path(name),
                format!(
                    "must be an integer from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    pub fn opt_int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, FieldError> {
        match self.present(name) {
            None => Ok(None),
            Some(_) => self.int(name, range).map(Some),
        }
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.present(name) {
            None => Ok(None),
            Some(_) => self.bool(name).map(Some),
        }
    }

    /// The keys and values of an object, each value readable with its path.
    pub fn entries(&self, name: &str) -> Result<Vec<(&'a str, &'a Value, String)>, FieldError> {
        let map = self
            .required(name)?
            .as_object()
            .ok_or_else(|| FieldError::new(self.path(name), "must be an object"))?;
        Ok(map
            .iter()
            .map(|(k, v)| (k.as_str(), v, format!("{}.{k}", self.path(name))))
            .collect())
    }

    /// The raw value of a present (non-null) field.
    pub fn entries_value(&self, name: &str) -> Option<&'a Value> {
        self.present(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.present(name).is_some()
    }

    pub fn object(&self, name: &str) -> Result<Fields<'a>, FieldError> {
        let map = self
            .required(name)?
            .as_object()
            .ok_or_else(|| FieldError::new(self.path(name), "must be an object"))?;
        Ok(Fields {
            map,
            prefix: self.path(name),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn errors_name_the_nested_field_path() {
        let m = obj(json!({"tax_rates": {"standard": 20}, "countries": ["FR", 3]}));
        let f = Fields::new(&m);
        let rates = f.object("tax_rates").unwrap();
        assert_eq!(
            rates.string("standard").unwrap_err().field,
            "tax_rates.standard"
        );
        assert_eq!(
            rates.string("reduced").unwrap_err().message,
            "tax_rates.reduced is required"
        );
        assert_eq!(
            f.string_list("countries", 10).unwrap_err().field,
            "countries[1]"
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let m = obj(json!({"note": null}));
        assert_eq!(Fields::new(&m).opt_string("note").unwrap(), None);
        assert!(Fields::new(&m).string("note").is_err());
    }

    #[test]
    fn unknown_keys_are_reported_with_their_path() {
        let m = obj(json!({"tax_rates": {"standard": "20", "luxury": "30"}}));
        let f = Fields::new(&m);
        assert_eq!(f.unknown(&["tax_rates"]), None);
        assert_eq!(
            f.object("tax_rates")
                .unwrap()
                .unknown(&["standard", "reduced", "zero"]),
            Some("tax_rates.luxury".to_string())
        );
    }
}
