//! The STIX 2.1 pattern language (STIX 2.1 §9): an AST, a winnow parser and a printer that
//! writes the canonical text back (`parse(p.to_string()) == p` for every pattern).
//!
//! The grammar follows the OASIS `STIXPattern.g4`. Precedence, loosest first: `FOLLOWEDBY`,
//! `OR`, `AND` between observation expressions; `OR`, `AND` between comparisons inside
//! brackets. Qualifiers (`WITHIN`, `REPEATS`, `START … STOP`) are postfix on an observation.
//! Keywords are upper case, as in the specification. Nesting is limited to [`MAX_DEPTH`] so a
//! hostile pattern cannot exhaust the stack.

use std::fmt;

use winnow::ascii::{digit0, digit1, multispace0};
use winnow::combinator::{
    alt, cut_err, delimited, not, opt, preceded, repeat, separated, terminated,
};
use winnow::error::{ContextError, ErrMode, StrContext, StrContextValue};
use winnow::prelude::*;
use winnow::token::{none_of, one_of, take_while};

/// Deepest nesting of brackets and parentheses accepted.
pub const MAX_DEPTH: usize = 64;

/// An observation expression: the whole of a pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// `[ comparison ]`
    Comparison(Comparison),
    /// Every observation must be seen.
    And(Vec<Observation>),
    /// Any of the observations.
    Or(Vec<Observation>),
    /// The observations in this order.
    FollowedBy(Vec<Observation>),
    /// An observation with a qualifier.
    Qualified(Box<Observation>, Qualifier),
}

/// A qualifier on an observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS`; the number as written.
    Within(String),
    /// `REPEATS n TIMES`
    Repeats(u64),
    /// `START t'…' STOP t'…'`
    StartStop(String, String),
}

/// A comparison expression, inside the brackets of an observation.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Test(Test),
    And(Vec<Comparison>),
    Or(Vec<Comparison>),
}

/// One property test.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `path [NOT] op value`
    Compare {
        path: ObjectPath,
        negated: bool,
        op: Operator,
        value: Literal,
    },
    /// `EXISTS path`
    Exists(ObjectPath),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
}

/// `object-type:property.path[0]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    pub object_type: String,
    pub steps: Vec<Step>,
}

/// One step of an object path after the object type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.name` or `.'quoted name'` (the first step has no dot).
    Property(String),
    /// `[n]`
    Index(i64),
    /// `[*]`
    AnyIndex,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    /// A float, kept as written so printing it back is exact.
    Float(String),
    Bool(bool),
    /// `b'…'` base64 text.
    Binary(String),
    /// `h'…'` hex digits.
    Hex(String),
    /// `t'…'` RFC 3339 timestamp in UTC.
    Timestamp(String),
    /// `( a, b, … )`, the right side of `IN`.
    Set(Vec<Literal>),
}

/// Why a pattern could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid STIX pattern at character {offset}: {message}")]
pub struct PatternError {
    /// Character (not byte) offset of the problem.
    pub offset: usize,
    pub message: String,
}

/// Parses a STIX 2.1 pattern.
pub fn parse(text: &str) -> Result<Observation, PatternError> {
    check_depth(text)?;
    delimited(multispace0, observations, multispace0)
        .parse(text)
        .map_err(|err| {
            let offset = text
                .get(..err.offset())
                .map_or(err.offset(), |s| s.chars().count());
            let message = match err.inner().to_string() {
                m if m.is_empty() => "unexpected input".to_owned(),
                m => m,
            };
            PatternError { offset, message }
        })
}

/// Rejects patterns nested deeper than [`MAX_DEPTH`] before the recursive parser sees them.
fn check_depth(text: &str) -> Result<(), PatternError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (offset, c) in text.chars().enumerate() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (_, '\'') => in_string = !in_string,
            (false, '[' | '(') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(PatternError {
                        offset,
                        message: format!("nested deeper than {MAX_DEPTH} levels"),
                    });
                }
            }
            (false, ']' | ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

type Input<'i> = &'i str;
type Error = ErrMode<ContextError>;

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

/// A keyword, not followed by more identifier characters (`OR` must not match `ORDER`).
fn keyword<'i>(word: &'static str) -> impl Parser<Input<'i>, &'i str, Error> {
    terminated(word, not(one_of(is_ident_char)))
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `separated(1.., item, KEYWORD)` folded into one node when there are several items.
fn chain<'i, T>(
    input: &mut Input<'i>,
    item: impl Parser<Input<'i>, T, Error>,
    word: &'static str,
    combine: fn(Vec<T>) -> T,
) -> ModalResult<T> {
    let mut items: Vec<T> =
        separated(1.., item, (multispace0, keyword(word), multispace0)).parse_next(input)?;
    Ok(if items.len() == 1 {
        items.remove(0)
    } else {
        combine(items)
    })
}

fn observations(input: &mut Input<'_>) -> ModalResult<Observation> {
    chain(input, observation_or, "FOLLOWEDBY", Observation::FollowedBy)
}

fn observation_or(input: &mut Input<'_>) -> ModalResult<Observation> {
    chain(input, observation_and, "OR", Observation::Or)
}

fn observation_and(input: &mut Input<'_>) -> ModalResult<Observation> {
    chain(input, qualified, "AND", Observation::And)
}

fn qualified(input: &mut Input<'_>) -> ModalResult<Observation> {
    let atom = observation_atom(input)?;
    let qualifiers: Vec<Qualifier> =
        repeat(0.., preceded(multispace0, qualifier)).parse_next(input)?;
    Ok(qualifiers
        .into_iter()
        .fold(atom, |inner, q| Observation::Qualified(Box::new(inner), q)))
}

fn observation_atom(input: &mut Input<'_>) -> ModalResult<Observation> {
    alt((
        preceded(
            '[',
            cut_err(terminated(
                delimited(multispace0, comparison, multispace0),
                ']'.context(expected("`]` closing the observation")),
            )),
        )
        .map(Observation::Comparison),
        preceded(
            '(',
            cut_err(terminated(
                delimited(multispace0, observations, multispace0),
                ')'.context(expected("`)`")),
            )),
        ),
    ))
    .context(expected("`[` starting an observation"))
    .parse_next(input)
}

fn qualifier(input: &mut Input<'_>) -> ModalResult<Qualifier> {
    let ws = multispace0;
    alt((
        preceded(
            (keyword("WITHIN"), ws),
            cut_err(terminated(positive_number, (ws, keyword("SECONDS")))),
        )
        .map(|n: &str| Qualifier::Within(n.to_owned())),
        preceded(
            (keyword("REPEATS"), ws),
            cut_err(terminated(
                digit1.try_map(str::parse::<u64>),
                (ws, keyword("TIMES")),
            )),
        )
        .map(Qualifier::Repeats),
        preceded(
            (keyword("START"), ws),
            cut_err((timestamp, ws, keyword("STOP"), ws, timestamp)),
        )
        .map(|(start, _, _, _, stop)| Qualifier::StartStop(start, stop)),
    ))
    .parse_next(input)
}

fn positive_number<'i>(input: &mut Input<'i>) -> ModalResult<&'i str> {
    alt(((digit0, '.', digit1).take(), digit1))
        .context(expected("a number of seconds"))
        .parse_next(input)
}

fn comparison(input: &mut Input<'_>) -> ModalResult<Comparison> {
    chain(input, comparison_and, "OR", Comparison::Or)
}

fn comparison_and(input: &mut Input<'_>) -> ModalResult<Comparison> {
    chain(input, test, "AND", Comparison::And)
}

fn test(input: &mut Input<'_>) -> ModalResult<Comparison> {
    alt((
        preceded(
            '(',
            cut_err(terminated(
                delimited(multispace0, comparison, multispace0),
                ')'.context(expected("`)`")),
            )),
        ),
        preceded((keyword("EXISTS"), multispace0), cut_err(object_path))
            .map(|path| Comparison::Test(Test::Exists(path))),
        compare.map(Comparison::Test),
    ))
    .parse_next(input)
}

fn compare(input: &mut Input<'_>) -> ModalResult<Test> {
    let path = object_path(input)?;
    let negated = opt(preceded(multispace0, keyword("NOT")))
        .parse_next(input)?
        .is_some();
    let op = preceded(multispace0, operator)
        .context(expected("a comparison operator"))
        .parse_next(input)?;
    let value = cut_err(preceded(multispace0, operand(op))).parse_next(input)?;
    Ok(Test::Compare {
        path,
        negated,
        op,
        value,
    })
}

fn operator(input: &mut Input<'_>) -> ModalResult<Operator> {
    alt((
        alt((
            "!=".value(Operator::Ne),
            ">=".value(Operator::Ge),
            "<=".value(Operator::Le),
            "=".value(Operator::Eq),
            ">".value(Operator::Gt),
            "<".value(Operator::Lt),
        )),
        keyword("IN").value(Operator::In),
        keyword("LIKE").value(Operator::Like),
        keyword("MATCHES").value(Operator::Matches),
        keyword("ISSUBSET").value(Operator::IsSubset),
        keyword("ISSUPERSET").value(Operator::IsSuperset),
    ))
    .parse_next(input)
}

/// The literal an operator takes: a set for `IN`, a string for the text operators, an
/// orderable literal for `<`/`>`, any single literal for `=`/`!=`.
fn operand<'i>(op: Operator) -> impl Parser<Input<'i>, Literal, Error> {
    move |input: &mut Input<'i>| match op {
        Operator::In => set.context(expected("a set `( … )`")).parse_next(input),
        Operator::Like | Operator::Matches | Operator::IsSubset | Operator::IsSuperset => {
            string_literal
                .map(Literal::Str)
                .context(expected("a string literal"))
                .parse_next(input)
        }
        Operator::Gt | Operator::Lt | Operator::Ge | Operator::Le => literal
            .verify(|l| !matches!(l, Literal::Bool(_)))
            .context(expected("an orderable literal"))
            .parse_next(input),
        Operator::Eq | Operator::Ne => literal.context(expected("a literal")).parse_next(input),
    }
}

fn set(input: &mut Input<'_>) -> ModalResult<Literal> {
    delimited(
        ('(', multispace0),
        separated(0.., literal, (multispace0, ',', multispace0)),
        (multispace0, ')'),
    )
    .map(Literal::Set)
    .parse_next(input)
}

fn literal(input: &mut Input<'_>) -> ModalResult<Literal> {
    alt((
        timestamp.map(Literal::Timestamp),
        preceded("b'", terminated(take_while(0.., is_base64_char), '\''))
            .map(|s: &str| Literal::Binary(s.to_owned())),
        preceded("h'", terminated(take_while(0.., is_hex_char), '\''))
            .verify(|s: &str| s.len() % 2 == 0)
            .map(|s: &str| Literal::Hex(s.to_owned())),
        keyword("true").value(Literal::Bool(true)),
        keyword("false").value(Literal::Bool(false)),
        string_literal.map(Literal::Str),
        number,
    ))
    .parse_next(input)
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

fn is_hex_char(c: char) -> bool {
    c.is_ascii_hexdigit()
}

fn number(input: &mut Input<'_>) -> ModalResult<Literal> {
    alt((
        (opt(one_of(['+', '-'])), digit0, '.', digit1)
            .take()
            .map(|s: &str| Literal::Float(s.to_owned())),
        // Out-of-range integers fail here rather than wrapping.
        (opt(one_of(['+', '-'])), digit1)
            .take()
            .try_map(str::parse::<i64>)
            .map(Literal::Int),
    ))
    .parse_next(input)
}

fn timestamp(input: &mut Input<'_>) -> ModalResult<String> {
    preceded(
        "t'",
        cut_err(
            terminated(take_while(1.., |c| c != '\''), '\'').verify(|s: &str| is_stix_timestamp(s)),
        ),
    )
    .context(expected("a timestamp t'YYYY-MM-DDTHH:MM:SS[.s]Z'"))
    .map(str::to_owned)
    .parse_next(input)
}

/// STIX timestamps are RFC 3339 in UTC with a `Z` suffix.
fn is_stix_timestamp(s: &str) -> bool {
    s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// `'…'` with `\'` and `\\` as the only escapes.
fn string_literal(input: &mut Input<'_>) -> ModalResult<String> {
    preceded(
        '\'',
        cut_err(terminated(
            repeat(0.., string_char).fold(String::new, |mut s, c| {
                s.push(c);
                s
            }),
            '\''.context(expected("closing `'`")),
        )),
    )
    .parse_next(input)
}

fn string_char(input: &mut Input<'_>) -> ModalResult<char> {
    let c = none_of('\'').parse_next(input)?;
    if c == '\\' {
        cut_err(one_of(['\'', '\\']))
            .context(expected("`\\'` or `\\\\` (the only escapes)"))
            .parse_next(input)
    } else {
        Ok(c)
    }
}

fn object_path(input: &mut Input<'_>) -> ModalResult<ObjectPath> {
    let object_type = identifier(true)
        .context(expected("an object type"))
        .parse_next(input)?;
    ':'.context(expected("`:` after the object type"))
        .parse_next(input)?;
    let first = cut_err(property_name)
        .context(expected("a property name"))
        .parse_next(input)?;
    let rest: Vec<Step> = repeat(
        0..,
        alt((
            preceded('.', cut_err(property_name)),
            delimited(
                '[',
                cut_err(alt((
                    '*'.value(Step::AnyIndex),
                    (opt('-'), digit1)
                        .take()
                        .try_map(str::parse::<i64>)
                        .map(Step::Index),
                ))),
                cut_err(']'),
            ),
        )),
    )
    .parse_next(input)?;
    let mut steps = Vec::with_capacity(rest.len() + 1);
    steps.push(first);
    steps.extend(rest);
    Ok(ObjectPath {
        object_type: object_type.to_owned(),
        steps,
    })
}

fn property_name(input: &mut Input<'_>) -> ModalResult<Step> {
    alt((identifier(false).map(str::to_owned), string_literal))
        .map(Step::Property)
        .parse_next(input)
}

/// `[A-Za-z_][A-Za-z0-9_]*`, with hyphens allowed after the first character in object types.
fn identifier<'i>(hyphens: bool) -> impl Parser<Input<'i>, &'i str, Error> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., move |c: char| {
            c.is_ascii_alphanumeric() || c == '_' || (hyphens && c == '-')
        }),
    )
        .take()
}

fn is_plain_property(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        if matches!(c, '\'' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("'")
}

/// Writes `items` joined by ` word `. A child is parenthesised when it binds no tighter than
/// its parent (`a AND (b OR c)`, `a OR (b OR c)`), so the tree shape survives a round trip and
/// the text nests no deeper than the pattern it was parsed from.
fn write_joined<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    word: &str,
    parent: Precedence,
    precedence: fn(&T) -> Precedence,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            write!(f, " {word} ")?;
        }
        if precedence(item) <= parent {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}

/// How tightly an expression binds, loosest first; atoms never need parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    FollowedBy,
    Or,
    And,
    Atom,
}

impl Observation {
    fn precedence(&self) -> Precedence {
        match self {
            Self::FollowedBy(_) => Precedence::FollowedBy,
            Self::Or(_) => Precedence::Or,
            Self::And(_) => Precedence::And,
            Self::Comparison(_) | Self::Qualified(..) => Precedence::Atom,
        }
    }
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Comparison(c) => write!(f, "[{c}]"),
            Self::And(items) => write_joined(f, items, "AND", Precedence::And, Self::precedence),
            Self::Or(items) => write_joined(f, items, "OR", Precedence::Or, Self::precedence),
            Self::FollowedBy(items) => write_joined(
                f,
                items,
                "FOLLOWEDBY",
                Precedence::FollowedBy,
                Self::precedence,
            ),
            Self::Qualified(inner, q) if inner.precedence() < Precedence::Atom => {
                write!(f, "({inner}) {q}")
            }
            Self::Qualified(inner, q) => write!(f, "{inner} {q}"),
        }
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Within(n) => write!(f, "WITHIN {n} SECONDS"),
            Self::Repeats(n) => write!(f, "REPEATS {n} TIMES"),
            Self::StartStop(a, b) => write!(f, "START t'{a}' STOP t'{b}'"),
        }
    }
}

impl Comparison {
    fn precedence(&self) -> Precedence {
        match self {
            Self::Or(_) => Precedence::Or,
            Self::And(_) => Precedence::And,
            Self::Test(_) => Precedence::Atom,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Test(t) => write!(f, "{t}"),
            Self::And(items) => write_joined(f, items, "AND", Precedence::And, Self::precedence),
            Self::Or(items) => write_joined(f, items, "OR", Precedence::Or, Self::precedence),
        }
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exists(path) => write!(f, "EXISTS {path}"),
            Self::Compare {
                path,
                negated,
                op,
                value,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{path} {not}{op} {value}")
            }
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Lt => "<",
            Self::Ge => ">=",
            Self::Le => "<=",
            Self::In => "IN",
            Self::Like => "LIKE",
            Self::Matches => "MATCHES",
            Self::IsSubset => "ISSUBSET",
            Self::IsSuperset => "ISSUPERSET",
        })
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Property(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_plain_property(name) {
                        f.write_str(name)?;
                    } else {
                        write_quoted(f, name)?;
                    }
                }
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => write_quoted(f, s),
            Self::Int(n) => write!(f, "{n}"),
            Self::Float(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Binary(s) => write!(f, "b'{s}'"),
            Self::Hex(s) => write!(f, "h'{s}'"),
            Self::Timestamp(s) => write!(f, "t'{s}'"),
            Self::Set(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
        }
    }
}
