//! Listing with `top`, `orderBy`, `startDateTime`/`endDateTime`, `TMV1-Filter` and
//! `nextLink` paging. The `skipToken` is a keyset cursor — the sort key of the last item
//! returned and the `endDateTime` pinned by the first page — so deleting or adding objects
//! between pages neither repeats nor skips the rest of the list. `nextLink` repeats every
//! query parameter and its path starts with `/v3.0/` (the SDK strips the first five
//! characters of the path).
//!
//! The filter is not in the link: like the real service, every page is filtered by the
//! `TMV1-Filter` header of its own request, and a next page asked for without it is the
//! unfiltered rest of the list. pytmv1 fixed exactly this: before 0.11 its
//! `core.py` `_consume_linkable` followed `nextLink` with only the `skipToken` (later pages
//! came back unfiltered), 0.11.0 sends the first request's headers with every page.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::V1Error;
use super::filter::{self, Filter, Subject};
use crate::clock::parse_iso;

/// Accepted page sizes.
pub const PAGE_SIZES: [usize; 3] = [50, 100, 200];
/// Default page size.
pub const DEFAULT_TOP: usize = 100;
/// Longest `orderBy` accepted.
const MAX_ORDER_BY: usize = 30;

/// A field the list can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    LastModified,
    Expired,
    RiskLevel,
}

impl SortField {
    fn named(name: &str) -> Option<Self> {
        match name {
            "lastModifiedDateTime" => Some(SortField::LastModified),
            "expiredDateTime" => Some(SortField::Expired),
            "riskLevel" => Some(SortField::RiskLevel),
            _ => None,
        }
    }
}

/// One listable entry: the item, the values it sorts by, and what filters see.
pub struct Row<'a, T> {
    pub item: &'a T,
    pub subject: Subject<'a>,
    pub last_modified: i64,
    pub sort_value: i64,
    pub seq: u64,
}

/// The checked query of a list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub top: usize,
    pub sort: SortField,
    pub descending: bool,
    pub start: Option<i64>,
    pub end: i64,
    pub filter: Option<Filter>,
    /// Sort key of the last item of the previous page.
    after: Option<(i64, u64)>,
    /// The query string parameters as given (minus `skipToken`), to repeat in `nextLink`.
    params: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SkipToken {
    /// Sort value and sequence number of the last item returned.
    k: (i64, u64),
    /// `endDateTime` of the first page.
    e: i64,
}

fn bad(message: impl Into<String>) -> V1Error {
    V1Error::BadRequest(message.into())
}

impl ListQuery {
    /// Checks the query parameters and filter header; `sortable` lists the fields this list
    /// may be ordered by.
    pub fn parse(
        params: &HashMap<String, String>,
        filter_header: Option<&str>,
        sortable: &[SortField],
        now: i64,
    ) -> Result<Self, V1Error> {
        let top = match params.get("top") {
            None => DEFAULT_TOP,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| PAGE_SIZES.contains(n))
                .ok_or_else(|| bad("Invalid request - top must be one of 50, 100, 200."))?,
        };
        let (sort, descending) =
            parse_order_by(params.get("orderBy").map(String::as_str), sortable)?;
        let start = parse_time(params, "startDateTime")?;
        let token = params
            .get("skipToken")
            .map(|t| decode_token(t))
            .transpose()?;
        let end = match (&token, parse_time(params, "endDateTime")?) {
            (Some(token), _) => token.e,
            (None, Some(end)) => end,
            (None, None) => now,
        };
        if start.is_some_and(|start| start > end) {
            return Err(bad(
                "Invalid request - startDateTime must not be later than endDateTime.",
            ));
        }
        let filter = filter_header
            .filter(|f| !f.trim().is_empty())
            .map(filter::parse)
            .transpose()
            .map_err(bad)?;
        let mut kept: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k.as_str() != "skipToken" && k.as_str() != "top")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        kept.sort();
        kept.insert(0, ("top".to_owned(), top.to_string()));
        Ok(Self {
            top,
            sort,
            descending,
            start,
            end,
            filter,
            after: token.map(|t| t.k),
            params: kept,
        })
    }

    /// One page of `rows` as the API answers it, rendering only the items on the page;
    /// `link_base` is `scheme://host/v3.0/...path`.
    pub fn page<'a, T: 'a>(
        &self,
        rows: impl Iterator<Item = Row<'a, T>>,
        link_base: &str,
        render: impl Fn(&T) -> Value,
    ) -> Value {
        let mut rows: Vec<Row<'a, T>> = rows
            .into_iter()
            .filter(|row| {
                row.last_modified <= self.end
                    && self.start.is_none_or(|start| row.last_modified >= start)
                    && self.filter.as_ref().is_none_or(|f| f.matches(&row.subject))
            })
            .filter(|row| {
                self.after
                    .is_none_or(|after| self.is_after((row.sort_value, row.seq), after))
            })
            .collect();
        rows.sort_by(|a, b| {
            let order = (a.sort_value, a.seq).cmp(&(b.sort_value, b.seq));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        let more = rows.len() > self.top;
        rows.truncate(self.top);
        let next = more
            .then(|| {
                rows.last()
                    .map(|last| self.next_link(link_base, (last.sort_value, last.seq)))
            })
            .flatten();
        let items: Vec<Value> = rows.into_iter().map(|r| render(r.item)).collect();
        match next {
            Some(link) => json!({"items": items, "nextLink": link}),
            None => json!({"items": items}),
        }
    }

    fn is_after(&self, key: (i64, u64), cursor: (i64, u64)) -> bool {
        if self.descending {
            key < cursor
        } else {
            key > cursor
        }
    }

    fn next_link(&self, link_base: &str, last: (i64, u64)) -> String {
        let token = SkipToken {
            k: last,
            e: self.end,
        };
        let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default());
        let mut query: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        query.push(format!("skipToken={encoded}"));
        format!("{link_base}?{}", query.join("&"))
    }
}

fn parse_order_by(
    text: Option<&str>,
    sortable: &[SortField],
) -> Result<(SortField, bool), V1Error> {
    let Some(text) = text else {
        return Ok((SortField::LastModified, true));
    };
    let invalid = || {
        bad(format!(
            "Invalid request - Invalid field format: orderBy ({text})."
        ))
    };
    if text.len() > MAX_ORDER_BY {
        return Err(invalid());
    }
    let mut words = text.split_whitespace();
    let field = words
        .next()
        .and_then(SortField::named)
        .filter(|f| sortable.contains(f))
        .ok_or_else(invalid)?;
    // The spec: without a direction the results are ascending.
    let descending = match words.next() {
        None => false,
        Some(dir) if dir.eq_ignore_ascii_case("asc") => false,
        Some(dir) if dir.eq_ignore_ascii_case("desc") => true,
        Some(_) => return Err(invalid()),
    };
    if words.next().is_some() {
        return Err(invalid());
    }
    Ok((field, descending))
}

fn parse_time(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, V1Error> {
    params
        .get(name)
        .map(|text| {
            parse_iso(text).ok_or_else(|| {
                bad(format!(
                    "Invalid request - {name} must be an ISO 8601 timestamp such as 2021-04-05T08:22:37Z."
                ))
            })
        })
        .transpose()
}

fn decode_token(text: &str) -> Result<SkipToken, V1Error> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| bad("Invalid request - Invalid skipToken."))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const ALL: [SortField; 3] = [
        SortField::LastModified,
        SortField::Expired,
        SortField::RiskLevel,
    ];

    #[test]
    fn top_must_be_a_page_size() {
        for ok in ["50", "100", "200"] {
            assert!(ListQuery::parse(&params(&[("top", ok)]), None, &ALL, 0).is_ok());
        }
        for bad in ["0", "10", "1000", "abc", "-50"] {
            assert!(ListQuery::parse(&params(&[("top", bad)]), None, &ALL, 0).is_err());
        }
    }

    #[test]
    fn order_by_forms() {
        assert_eq!(
            parse_order_by(None, &ALL).unwrap(),
            (SortField::LastModified, true)
        );
        assert_eq!(
            parse_order_by(Some("riskLevel"), &ALL).unwrap(),
            (SortField::RiskLevel, false)
        );
        assert_eq!(
            parse_order_by(Some("expiredDateTime desc"), &ALL).unwrap(),
            (SortField::Expired, true)
        );
        assert!(parse_order_by(Some("riskLevel up"), &ALL).is_err());
        assert!(parse_order_by(Some("riskLevel"), &[SortField::LastModified]).is_err());
        assert!(parse_order_by(Some("name asc"), &ALL).is_err());
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(
            percent_encode("lastModifiedDateTime desc"),
            "lastModifiedDateTime%20desc"
        );
        assert_eq!(
            percent_encode("2021-04-05T08:22:37Z"),
            "2021-04-05T08%3A22%3A37Z"
        );
    }
}
