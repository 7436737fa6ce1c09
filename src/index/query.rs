//! The query language of `macat search`, parsed into an expression tree.
//!
//! ```text
//! pytorch 1.8                 words (all must match; typos tolerated)
//! "cuda 11.1"                 a phrase (words next to each other)
//! mindsp*                     a prefix
//! name:pytorch arch:aarch64   a field (text fields, or the image's enum fields)
//! name:"pytorch 1.8"          a phrase in one field
//! cuda OR cann, a AND b       boolean operators (upper case), parentheses
//! NOT gpu, -gpu               exclusion
//! *                           every image (with filters)
//! ```
//!
//! Nothing here knows tantivy; [`super::search`] turns the tree into an index query. Every
//! malformed query is a [`QueryError`] with one line that says what is wrong, never a panic.

use std::fmt;

use super::schema::canonical_field_name;

/// Field names a query may use before `:`.
pub const FIELDS: &[&str] = &[
    "name",
    "tag",
    "description",
    "swr_path",
    "namespace",
    "show_name",
    "tags",
    "arch",
    "type",
    "service_type",
    "status",
    "visibility",
    "category",
    "dev_service",
    "flavor_type",
    "origin",
    "id",
];

const MAX_QUERY_CHARS: usize = 2000;
const MAX_DEPTH: usize = 32;
const MAX_TERMS: usize = 64;

/// Why a query could not be parsed (shown as `invalid query: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid query: {}", self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError(msg.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// A word: exact, or within the typo tolerance.
    Word,
    /// Words that must stand next to each other, in order.
    Phrase,
    /// A word that begins with the text.
    Prefix,
}

/// One search term, with the field it is restricted to (canonical name), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub field: Option<&'static str>,
    pub text: String,
    pub kind: TermKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
    /// Every document (`*`).
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    Term(Term),
    All,
}

fn describe(t: Option<&Tok>) -> &'static str {
    match t {
        None => "the end of the query",
        Some(Tok::Open) => "(",
        Some(Tok::Close) => ")",
        Some(Tok::And) => "AND",
        Some(Tok::Or) => "OR",
        Some(Tok::Not) => "NOT",
        Some(Tok::Term(_) | Tok::All) => "a term",
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
}

fn field_list() -> String {
    FIELDS.join(", ")
}

/// Reads a quoted phrase starting after its opening quote; returns it and the index after the
/// closing quote.
fn read_phrase(chars: &[char], mut i: usize) -> Result<(String, usize), QueryError> {
    let mut s = String::new();
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                s.push(chars[i + 1]);
                i += 2;
            }
            '"' => return Ok((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    err("a quote is not closed: add the closing \"")
}

/// Turns a bare word (and what follows it, for `field:"phrase"`) into a token.
fn word_token(bare: &str, chars: &[char], next: usize) -> Result<(Tok, usize), QueryError> {
    match bare {
        "AND" => return Ok((Tok::And, next)),
        "OR" => return Ok((Tok::Or, next)),
        "NOT" => return Ok((Tok::Not, next)),
        "*" => return Ok((Tok::All, next)),
        _ => {}
    }
    let mut field = None;
    let mut value = bare;
    if let Some((prefix, rest)) = bare.split_once(':') {
        if is_identifier(prefix) {
            let canon = canonical_field_name(prefix);
            let Some(known) = FIELDS.iter().find(|f| **f == canon) else {
                return err(format!(
                    "unknown field {prefix:?} in {bare:?}; fields are {} (to search for the \
                     text itself, quote it: \"{bare}\")",
                    field_list()
                ));
            };
            field = Some(*known);
            value = rest;
            if value.is_empty() {
                if chars.get(next) == Some(&'"') {
                    let (phrase, after) = read_phrase(chars, next + 1)?;
                    if phrase.trim().is_empty() {
                        return err(format!("{prefix}:\"\" is an empty phrase"));
                    }
                    return Ok((
                        Tok::Term(Term {
                            field,
                            text: phrase,
                            kind: TermKind::Phrase,
                        }),
                        after,
                    ));
                }
                return err(format!(
                    "{prefix}: needs a value, as in {prefix}:{}",
                    example_value(known)
                ));
            }
        }
    }
    let stars = value.len() - value.trim_end_matches('*').len();
    let stem = &value[..value.len() - stars];
    if stem.contains('*') {
        return err(format!(
            "{bare:?}: `*` can only end a word (a prefix, as in mindsp*)"
        ));
    }
    if stars > 0 && stem.is_empty() {
        return err(format!(
            "{bare:?}: a prefix needs text before `*` (as in mindsp*)"
        ));
    }
    Ok((
        Tok::Term(Term {
            field,
            text: stem.to_string(),
            kind: if stars > 0 {
                TermKind::Prefix
            } else {
                TermKind::Word
            },
        }),
        next,
    ))
}

fn example_value(field: &str) -> &'static str {
    match field {
        "arch" => "aarch64",
        "type" => "BUILD_IN",
        "service_type" => "NOTEBOOK",
        "status" => "ACTIVE",
        "visibility" => "PUBLIC",
        "category" => "ASCEND",
        "dev_service" => "SSH",
        "flavor_type" => "ASCEND_SNT9B",
        "origin" => "CUSTOMIZE",
        "namespace" => "atelier",
        "id" => "0b2d0728-4c01-11ec-...",
        _ => "pytorch",
    }
}

fn lex(query: &str) -> Result<Vec<Tok>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '"' => {
                let (phrase, after) = read_phrase(&chars, i + 1)?;
                if phrase.trim().is_empty() {
                    return err("\"\" is an empty phrase");
                }
                out.push(Tok::Term(Term {
                    field: None,
                    text: phrase,
                    kind: TermKind::Phrase,
                }));
                i = after;
            }
            '-' if chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != '-') =>
            {
                out.push(Tok::Not);
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '"')
                {
                    i += 1;
                }
                let bare: String = chars[start..i].iter().collect();
                if bare.chars().all(|c| c == '-') {
                    continue;
                }
                let (tok, next) = word_token(&bare, &chars, i)?;
                out.push(tok);
                i = next;
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            if matches!(self.peek(), None | Some(Tok::Close | Tok::Or | Tok::And)) {
                return err(format!(
                    "OR needs a term after it, not {}",
                    describe(self.peek())
                ));
            }
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Close | Tok::Or) => break,
                Some(Tok::And) => {
                    if items.is_empty() {
                        return err("AND needs a term before it");
                    }
                    self.at += 1;
                    if matches!(self.peek(), None | Some(Tok::Close | Tok::Or | Tok::And)) {
                        return err(format!(
                            "AND needs a term after it, not {}",
                            describe(self.peek())
                        ));
                    }
                }
                Some(_) => items.push(self.unary()?),
            }
        }
        match items.len() {
            0 => match self.peek() {
                Some(Tok::Or) => err("OR needs a term before it"),
                Some(Tok::Close) if self.depth > 0 => err("() is empty"),
                Some(Tok::Close) => err("a ) has no matching ("),
                _ => err("the query is empty: give words to search for, or * for every image"),
            },
            1 => Ok(items.pop().expect("one item")),
            _ => Ok(Expr::And(items)),
        }
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        let Some(tok) = self.peek().cloned() else {
            return err("the query ends too early");
        };
        self.at += 1;
        match tok {
            Tok::Not => {
                if matches!(self.peek(), None | Some(Tok::Close | Tok::Or | Tok::And)) {
                    return err(format!(
                        "NOT needs a term after it, not {}",
                        describe(self.peek())
                    ));
                }
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Tok::Open => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return err(format!("more than {MAX_DEPTH} nested parentheses"));
                }
                let e = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return err("a ( is not closed: add the closing )");
                }
                self.at += 1;
                self.depth -= 1;
                Ok(e)
            }
            Tok::Close => err("a ) has no matching ("),
            Tok::Term(t) => Ok(Expr::Term(t)),
            Tok::All => Ok(Expr::All),
            Tok::And | Tok::Or => err(format!("{} needs a term before it", describe(Some(&tok)))),
        }
    }
}

/// Parses a query.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return err(format!("longer than {MAX_QUERY_CHARS} characters"));
    }
    let toks = lex(query)?;
    let terms = toks.iter().filter(|t| matches!(t, Tok::Term(_))).count();
    if terms > MAX_TERMS {
        return err(format!("more than {MAX_TERMS} terms"));
    }
    let mut p = Parser {
        toks,
        at: 0,
        depth: 0,
    };
    let e = p.or()?;
    if p.at < p.toks.len() {
        return err("a ) has no matching (");
    }
    Ok(e)
}

/// The words of a query of two or more plain words (no quotes, operators, parentheses,
/// `field:value` or `prefix*`): the queries partial matches may answer. `None` for any other.
pub fn plain_words(query: &str) -> Option<Vec<Term>> {
    let words = lex(query)
        .ok()?
        .into_iter()
        .map(|t| match t {
            Tok::Term(t) if t.field.is_none() && t.kind == TermKind::Word => Some(t),
            _ => None,
        })
        .collect::<Option<Vec<Term>>>()?;
    (words.len() >= 2).then_some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_are_words_alone() {
        let texts = |q: &str| plain_words(q).map(|w| w.into_iter().map(|t| t.text).collect());
        assert_eq!(
            texts("notebook ssh"),
            Some(vec!["notebook".to_string(), "ssh".to_string()])
        );
        for q in [
            "notebook",
            "notebook AND ssh",
            "notebook OR ssh",
            "notebook -ssh",
            "NOT ssh notebook",
            "\"notebook ssh\"",
            "name:notebook ssh",
            "notebook ssh*",
            "(notebook ssh)",
            "* notebook",
        ] {
            assert_eq!(texts(q), None::<Vec<String>>, "{q}");
        }
    }

    fn word(t: &str) -> Expr {
        Expr::Term(Term {
            field: None,
            text: t.into(),
            kind: TermKind::Word,
        })
    }

    #[test]
    fn words_fields_phrases_prefixes() {
        assert_eq!(
            parse("pytorch 1.8").unwrap(),
            Expr::And(vec![word("pytorch"), word("1.8")])
        );
        assert_eq!(
            parse("Arch:AARCH64").unwrap(),
            Expr::Term(Term {
                field: Some("arch"),
                text: "AARCH64".into(),
                kind: TermKind::Word
            })
        );
        assert_eq!(
            parse("name:\"pytorch 1.8\"").unwrap(),
            Expr::Term(Term {
                field: Some("name"),
                text: "pytorch 1.8".into(),
                kind: TermKind::Phrase
            })
        );
        assert_eq!(
            parse("mindsp*").unwrap(),
            Expr::Term(Term {
                field: None,
                text: "mindsp".into(),
                kind: TermKind::Prefix
            })
        );
        assert_eq!(
            parse("resource_categories:GPU").unwrap(),
            Expr::Term(Term {
                field: Some("category"),
                text: "GPU".into(),
                kind: TermKind::Word
            })
        );
        // a colon after something that is not a field name is just text
        assert_eq!(parse("tf-1.13.2:latest").unwrap(), word("tf-1.13.2:latest"));
    }

    #[test]
    fn boolean_operators_and_precedence() {
        assert_eq!(
            parse("a b OR c NOT d").unwrap(),
            Expr::Or(vec![
                Expr::And(vec![word("a"), word("b")]),
                Expr::And(vec![word("c"), Expr::Not(Box::new(word("d")))]),
            ])
        );
        assert_eq!(
            parse("(a OR b) AND -c").unwrap(),
            Expr::And(vec![
                Expr::Or(vec![word("a"), word("b")]),
                Expr::Not(Box::new(word("c"))),
            ])
        );
        assert_eq!(
            parse("* -gpu").unwrap(),
            Expr::And(vec![Expr::All, Expr::Not(Box::new(word("gpu")))])
        );
        // lower-case operators are words
        assert_eq!(
            parse("a or b").unwrap(),
            Expr::And(vec![word("a"), word("or"), word("b")])
        );
    }

    #[test]
    fn malformed_queries_say_what_is_wrong() {
        for (q, says) in [
            ("", "empty"),
            ("   ", "empty"),
            ("\"pytorch 1.8", "quote is not closed"),
            ("(pytorch", "not closed"),
            ("pytorch)", "no matching ("),
            ("()", "empty"),
            ("OR pytorch", "before"),
            ("pytorch OR", "after"),
            ("pytorch AND", "after"),
            ("AND pytorch", "before"),
            ("pytorch NOT", "after"),
            ("a OR OR b", "after"),
            ("name:", "needs a value"),
            ("nmae:pytorch", "unknown field"),
            ("mind*spore", "can only end"),
            ("name:*", "needs text"),
            ("\"\"", "empty phrase"),
        ] {
            let e = parse(q).unwrap_err().to_string();
            assert!(e.contains(says), "{q:?}: {e}");
            assert!(!e.contains('\n'));
        }
        let deep = "(".repeat(100) + "a" + &")".repeat(100);
        assert!(parse(&deep).is_err());
        assert!(parse(&"a ".repeat(1500)).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for q in [
            "-",
            "--",
            "- -",
            "-(",
            ")(",
            "\\",
            "\"\\",
            "a:b:c",
            ":",
            "::",
            "*:*",
            "**",
            "a**",
            "NOT",
            "NOT NOT a",
            "(((",
            ")))",
            "-\"x\"",
            "name:\"",
            "a\u{0}b",
            "ñ:x",
        ] {
            let _ = parse(q);
        }
    }
}
