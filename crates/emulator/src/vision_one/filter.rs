//! The `TMV1-Filter` grammar of the list endpoints:
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | field "eq" string
//! string  := "'" ( any but "'" | "''" )* "'"
//! ```
//!
//! Keywords and field names ignore case; values compare without ASCII case and `*` is a
//! wildcard (`url eq '*.example.com*'`). Fields: `type`, the six value keys, `scanAction`,
//! `riskLevel`. At most 4000 characters.

use winnow::ascii::{Caseless, multispace0};
use winnow::combinator::{alt, cut_err, delimited, not, preceded, repeat};
use winnow::error::{ContextError, ErrMode, StrContext};
use winnow::prelude::*;
use winnow::token::{none_of, take_while};

use super::model::ObjectType;
use crate::wildcard::glob_matches;

/// Longest filter accepted.
pub const MAX_FILTER_CHARS: usize = 4000;

/// A field a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Type,
    Value(ObjectType),
    ScanAction,
    RiskLevel,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Eq(Field, String),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// What a filter is tested against: one list entry.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub kind: ObjectType,
    pub value: &'a str,
    pub scan_action: Option<&'static str>,
    pub risk_level: Option<&'static str>,
}

impl Filter {
    /// Whether `subject` passes the filter.
    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        match self {
            Filter::Eq(field, pattern) => {
                let actual = match field {
                    Field::Type => Some(subject.kind.key()),
                    Field::Value(kind) => (*kind == subject.kind).then_some(subject.value),
                    Field::ScanAction => subject.scan_action,
                    Field::RiskLevel => subject.risk_level,
                };
                actual.is_some_and(|actual| glob_matches(pattern, actual))
            }
            Filter::Not(inner) => !inner.matches(subject),
            Filter::And(a, b) => a.matches(subject) && b.matches(subject),
            Filter::Or(a, b) => a.matches(subject) || b.matches(subject),
        }
    }
}

fn field_named(name: &str) -> Option<Field> {
    if name.eq_ignore_ascii_case("type") {
        return Some(Field::Type);
    }
    if name.eq_ignore_ascii_case("scanAction") {
        return Some(Field::ScanAction);
    }
    if name.eq_ignore_ascii_case("riskLevel") {
        return Some(Field::RiskLevel);
    }
    ObjectType::ALL
        .into_iter()
        .find(|t| t.key().eq_ignore_ascii_case(name))
        .map(Field::Value)
}

/// Parses a filter, or says what is wrong with it.
pub fn parse(text: &str) -> Result<Filter, String> {
    if text.chars().count() > MAX_FILTER_CHARS {
        return Err(format!(
            "TMV1-Filter is longer than {MAX_FILTER_CHARS} characters"
        ));
    }
    delimited(multispace0, expr, multispace0)
        .parse(text)
        .map_err(|err| {
            let offset = err.offset();
            let context = err.inner().to_string();
            let detail = if context.is_empty() {
                String::new()
            } else {
                format!(" ({context})")
            };
            format!("Invalid TMV1-Filter at character {}{detail}", offset + 1)
        })
}

fn keyword<'i>(word: &'static str) -> impl Parser<&'i str, (), ErrMode<ContextError>> {
    (
        multispace0,
        Caseless(word),
        not(take_while(1, |c: char| c.is_alphanumeric() || c == '_')),
    )
        .void()
}

fn expr(input: &mut &str) -> ModalResult<Filter> {
    let first = and_expr.parse_next(input)?;
    let rest: Vec<Filter> =
        repeat(0.., preceded(keyword("or"), cut_err(and_expr))).parse_next(input)?;
    Ok(rest
        .into_iter()
        .fold(first, |acc, next| Filter::Or(Box::new(acc), Box::new(next))))
}

fn and_expr(input: &mut &str) -> ModalResult<Filter> {
    let first = unary.parse_next(input)?;
    let rest: Vec<Filter> =
        repeat(0.., preceded(keyword("and"), cut_err(unary))).parse_next(input)?;
    Ok(rest.into_iter().fold(first, |acc, next| {
        Filter::And(Box::new(acc), Box::new(next))
    }))
}

fn unary(input: &mut &str) -> ModalResult<Filter> {
    alt((
        preceded(keyword("not"), cut_err(unary)).map(|f| Filter::Not(Box::new(f))),
        delimited(
            (multispace0, '('),
            cut_err(expr),
            cut_err((multispace0, ')')).context(StrContext::Label("closing parenthesis")),
        ),
        comparison,
    ))
    .parse_next(input)
}

fn comparison(input: &mut &str) -> ModalResult<Filter> {
    let _ = multispace0.parse_next(input)?;
    let field = take_while(1.., |c: char| c.is_ascii_alphanumeric())
        .verify_map(field_named)
        .context(StrContext::Label("field name"))
        .parse_next(input)?;
    cut_err(keyword("eq"))
        .context(StrContext::Label("operator eq"))
        .parse_next(input)?;
    let value = cut_err(preceded(multispace0, quoted))
        .context(StrContext::Label("quoted value"))
        .parse_next(input)?;
    Ok(Filter::Eq(field, value))
}

fn quoted(input: &mut &str) -> ModalResult<String> {
    delimited(
        '\'',
        repeat(0.., alt(("''".value('\''), none_of('\'')))),
        cut_err('\''),
    )
    .parse_next(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn subject(kind: ObjectType, value: &str) -> Subject<'_> {
        Subject {
            kind,
            value,
            scan_action: Some("block"),
            risk_level: Some("high"),
        }
    }

    #[test]
    fn parses_the_documented_example() {
        let filter = parse("type eq 'url' AND riskLevel eq 'high'").unwrap();
        assert!(filter.matches(&subject(ObjectType::Url, "http://a.example")));
        assert!(!filter.matches(&subject(ObjectType::Ip, "1.2.3.4")));
    }

    #[test]
    fn precedence_not_and_or_parentheses() {
        let f = parse("type eq 'ip' or type eq 'url' and riskLevel eq 'low'").unwrap();
        // and binds tighter: ip matches regardless of risk.
        assert!(f.matches(&subject(ObjectType::Ip, "1.2.3.4")));
        assert!(!f.matches(&subject(ObjectType::Url, "http://a.example")));
        let g = parse("(type eq 'ip' or type eq 'url') and riskLevel eq 'low'").unwrap();
        assert!(!g.matches(&subject(ObjectType::Ip, "1.2.3.4")));
        let n = parse("not (type eq 'ip')").unwrap();
        assert!(n.matches(&subject(ObjectType::Domain, "a.example")));
        let nn = parse("NOT NOT type eq 'ip'").unwrap();
        assert!(nn.matches(&subject(ObjectType::Ip, "1.2.3.4")));
    }

    #[test]
    fn wildcards_quotes_and_value_fields() {
        let f = parse("url eq '*.alisiosanguera.com.cn'").unwrap();
        assert!(f.matches(&subject(ObjectType::Url, "www.alisiosanguera.com.cn")));
        assert!(!f.matches(&subject(ObjectType::Domain, "www.alisiosanguera.com.cn")));
        let q = parse("senderMailAddress eq 'o''brien@a.example'").unwrap();
        assert!(q.matches(&subject(ObjectType::SenderMailAddress, "o'brien@a.example")));
    }

    #[test]
    fn rejects_bad_filters() {
        for bad in [
            "",
            "type",
            "type eq url",
            "type ne 'url'",
            "colour eq 'red'",
            "(type eq 'ip'",
            "type eq 'ip' and",
            "type eq 'ip' xor type eq 'url'",
            "typeeq 'ip'",
            "type eq 'ip",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse(&format!("ip eq '{}'", "1".repeat(4000))).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = parse(&text);
        }

        #[test]
        fn quoted_values_round_trip(value in "[a-z0-9.'*]{0,20}") {
            let text = format!("domain eq '{}'", value.replace('\'', "''"));
            prop_assert_eq!(
                parse(&text),
                Ok(Filter::Eq(Field::Value(ObjectType::Domain), value))
            );
        }
    }
}
