//! `POST /iplists/search`: a SearchFilter with `maxItems` (default 5000), `sortByObjectID`
//! (default false: sorted by name), and criteria that must all hold — string tests on `name`
//! and `description` (`stringWildcards` defaults to true: `%` any run, `_` one character;
//! comparisons ignore ASCII case), and ID tests (`idTest`/`idValue`). Other test kinds do
//! not apply to IP lists and are refused with a 400 naming them.

use serde::Deserialize;
use serde_json::Value;

use super::model::IpList;
use crate::wildcard::like_matches;

/// Default and largest `maxItems`.
pub const MAX_ITEMS: usize = 5000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFilter {
    max_items: Option<i64>,
    #[serde(default)]
    search_criteria: Vec<RawCriterion>,
    #[serde(default, rename = "sortByObjectID")]
    sort_by_object_id: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCriterion {
    field_name: Option<String>,
    string_test: Option<String>,
    string_value: Option<String>,
    string_wildcards: Option<bool>,
    id_test: Option<String>,
    id_value: Option<i64>,
    boolean_test: Option<bool>,
    numeric_test: Option<String>,
    numeric_value: Option<f64>,
    choice_test: Option<String>,
    choice_value: Option<String>,
    first_date_value: Option<i64>,
    last_date_value: Option<i64>,
    null_test: Option<bool>,
    version_test: Option<String>,
    version_value: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
    NotEqual,
}

impl Comparison {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "less-than" => Comparison::Less,
            "less-than-or-equal" => Comparison::LessOrEqual,
            "equal" => Comparison::Equal,
            "greater-than-or-equal" => Comparison::GreaterOrEqual,
            "greater-than" => Comparison::Greater,
            "not-equal" => Comparison::NotEqual,
            _ => return None,
        })
    }

    fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Comparison::Less => left < right,
            Comparison::LessOrEqual => left <= right,
            Comparison::Equal => left == right,
            Comparison::GreaterOrEqual => left >= right,
            Comparison::Greater => left > right,
            Comparison::NotEqual => left != right,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StringField {
    Name,
    Description,
}

#[derive(Debug, Clone, PartialEq)]
enum Criterion {
    Id(Comparison, i64),
    Text {
        field: StringField,
        equal: bool,
        value: String,
        wildcards: bool,
    },
}

impl Criterion {
    fn holds(&self, list: &IpList) -> bool {
        match self {
            Criterion::Id(test, value) => test.holds(i64::from(list.id), *value),
            Criterion::Text {
                field,
                equal,
                value,
                wildcards,
            } => {
                let actual = match field {
                    StringField::Name => list.name.as_str(),
                    StringField::Description => list.description.as_deref().unwrap_or(""),
                };
                let found = if *wildcards {
                    like_matches(value, actual)
                } else {
                    value.eq_ignore_ascii_case(actual)
                };
                found == *equal
            }
        }
    }
}

/// A checked search request.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    max_items: usize,
    criteria: Vec<Criterion>,
    sort_by_id: bool,
}

impl Search {
    /// Parses a SearchFilter body (an absent body means "everything").
    pub fn parse(body: &Value) -> Result<Self, String> {
        let raw: RawFilter = if body.is_null() {
            RawFilter {
                max_items: None,
                search_criteria: Vec::new(),
                sort_by_object_id: false,
            }
        } else {
            serde_json::from_value(body.clone())
                .map_err(|e| format!("Invalid search filter: {e}"))?
        };
        let max_items = match raw.max_items {
            None => MAX_ITEMS,
            Some(n) if (0..=5000).contains(&n) => usize::try_from(n).unwrap_or(MAX_ITEMS),
            Some(n) => {
                return Err(format!(
                    "Invalid search filter: maxItems must be between 0 and {MAX_ITEMS}, got {n}."
                ));
            }
        };
        let criteria = raw
            .search_criteria
            .into_iter()
            .map(criterion)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            max_items,
            criteria,
            sort_by_id: raw.sort_by_object_id,
        })
    }

    /// The matching lists, sorted and truncated to `maxItems`.
    pub fn run<'a>(&self, lists: impl Iterator<Item = &'a IpList>) -> Vec<IpList> {
        let mut found: Vec<&IpList> = lists
            .filter(|l| self.criteria.iter().all(|c| c.holds(l)))
            .collect();
        if self.sort_by_id {
            found.sort_by_key(|l| l.id);
        } else {
            found.sort_by(|a, b| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then(a.id.cmp(&b.id))
            });
        }
        found.into_iter().take(self.max_items).cloned().collect()
    }
}

fn criterion(raw: RawCriterion) -> Result<Criterion, String> {
    let unsupported = [
        ("booleanTest", raw.boolean_test.is_some()),
        (
            "numericTest",
            raw.numeric_test.is_some() || raw.numeric_value.is_some(),
        ),
        (
            "choiceTest",
            raw.choice_test.is_some() || raw.choice_value.is_some(),
        ),
        (
            "firstDateValue/lastDateValue",
            raw.first_date_value.is_some() || raw.last_date_value.is_some(),
        ),
        ("nullTest", raw.null_test.is_some()),
        (
            "versionTest",
            raw.version_test.is_some() || raw.version_value.is_some(),
        ),
    ];
    if let Some((name, _)) = unsupported.iter().find(|(_, used)| *used) {
        return Err(format!(
            "Invalid search criteria: {name} is not supported for IP lists."
        ));
    }
    if raw.id_test.is_some() || raw.id_value.is_some() {
        let test = raw.id_test.as_deref().unwrap_or("equal");
        let test = Comparison::named(test)
            .ok_or_else(|| format!("Invalid search criteria: unknown idTest '{test}'."))?;
        let value = raw
            .id_value
            .ok_or("Invalid search criteria: idTest requires idValue.")?;
        return Ok(Criterion::Id(test, value));
    }
    let field = match raw.field_name.as_deref() {
        Some("name") => StringField::Name,
        Some("description") => StringField::Description,
        Some("ID") => {
            return Err("Invalid search criteria: search ID with idTest and idValue.".to_owned());
        }
        Some(other) => {
            return Err(format!(
                "Invalid search criteria: unknown field '{other}'. Searchable fields: name, description, ID."
            ));
        }
        None => return Err("Invalid search criteria: fieldName is required.".to_owned()),
    };
    let equal = match raw.string_test.as_deref().unwrap_or("equal") {
        "equal" => true,
        "not-equal" => false,
        other => {
            return Err(format!(
                "Invalid search criteria: unknown stringTest '{other}'."
            ));
        }
    };
    let value = raw
        .string_value
        .ok_or("Invalid search criteria: stringTest requires stringValue.")?;
    Ok(Criterion::Text {
        field,
        equal,
        value,
        wildcards: raw.string_wildcards.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deep_security::model::builtin_ip_lists;
    use serde_json::json;

    fn names(search: &Value) -> Vec<String> {
        let lists = builtin_ip_lists();
        Search::parse(search)
            .unwrap()
            .run(lists.iter())
            .into_iter()
            .map(|l| l.name)
            .collect()
    }

    #[test]
    fn string_tests() {
        assert_eq!(
            names(
                &json!({"searchCriteria": [{"fieldName": "name", "stringValue": "Loopbacks", "stringWildcards": false}]})
            ),
            ["Loopbacks"]
        );
        assert_eq!(
            names(&json!({"searchCriteria": [{"fieldName": "name", "stringValue": "%ignore%"}]})),
            ["Ignore Reconnaissance", "Off Domain Ignore"]
        );
        // Without wildcards, % is literal.
        assert!(names(&json!({"searchCriteria": [{"fieldName": "name", "stringValue": "%ignore%", "stringWildcards": false}]})).is_empty());
        assert_eq!(
            names(
                &json!({"searchCriteria": [{"fieldName": "name", "stringTest": "not-equal", "stringValue": "%i%"}]})
            ),
            ["Loopbacks", "Network Broadcast"]
        );
    }

    #[test]
    fn id_paging() {
        let page = json!({"maxItems": 2, "searchCriteria": [{"idValue": 2, "idTest": "greater-than"}], "sortByObjectID": true});
        let lists = builtin_ip_lists();
        let ids: Vec<u32> = Search::parse(&page)
            .unwrap()
            .run(lists.iter())
            .iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(ids, [3, 4]);
    }

    #[test]
    fn refusals() {
        for bad in [
            json!({"searchCriteria": [{"fieldName": "items", "stringValue": "x"}]}),
            json!({"searchCriteria": [{"fieldName": "name"}]}),
            json!({"searchCriteria": [{"fieldName": "name", "stringTest": "like", "stringValue": "x"}]}),
            json!({"searchCriteria": [{"idTest": "greater-than"}]}),
            json!({"searchCriteria": [{"fieldName": "name", "booleanTest": true}]}),
            json!({"maxItems": -1}),
            json!({"maxItems": "ten"}),
        ] {
            assert!(Search::parse(&bad).is_err(), "{bad}");
        }
    }
}
