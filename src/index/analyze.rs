//! Text analysis made for image names: how names, tags, paths and descriptions become terms.
//!
//! Image names are version strings (`pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64`,
//! `mindspore1.8.0-cann5.1.2-py3.7-euler2.8.3`), so a general-purpose tokenizer does badly on
//! them. Text is cut as follows:
//!
//! - *atoms* are runs of letters or of ASCII digits; everything else separates them, and so does
//!   a letter/digit boundary (`cuda10` is `cuda` + `10`);
//! - a *word* is a run of atoms that touch (`snt9b`, `cuda10.2`), where a `.` between two digit
//!   atoms also binds (`2.10.7`), and no other character does (`-_/:` and spaces separate);
//! - a word's *segments* are its letter atoms and its versions (digit atoms joined by dots), one
//!   position each: `mindspore1.8.0` is `mindspore` then `1.8.0`.
//!
//! At index time each segment position carries the segment and, for a version, every dotted
//! prefix and every number in it (`1.8.0` also gives `1.8`, `1`, `8`, `0`), so `pytorch 1.8` and
//! `cuda 10.2` find `pytorch_1.8.0-cuda_10.2`. A word of several segments is also kept whole at
//! its first position (`aarch64`, `snt9b`, `cuda10.2`), for exact and typo-tolerant matches of
//! the whole. Chinese, Japanese and Korean text becomes characters and overlapping character
//! pairs (bigrams). Every term is lowercased and ASCII-folded; description terms are also
//! stemmed (English).
//!
//! The query side ([`QueryAnalyzer`]) cuts a query word the same way but keeps one term per
//! position (the whole version, not its parts), so a word of several segments becomes a phrase.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, Stemmer,
    TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Names the index's tokenizers are registered under (the schema refers to them).
pub const IDENT: &str = "macat_ident";
pub const TEXT: &str = "macat_text";
pub const ENUM: &str = "macat_enum";
/// Tags and SWR paths: what they add to the name and to the tag (see [`RestTokenizer`]).
pub const REST: &str = "macat_rest";

/// Terms longer than this (in bytes) are dropped: nobody searches for them, and tantivy limits
/// term length.
const MAX_TERM_BYTES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Cjk,
    Sep,
}

fn class(c: char) -> Class {
    if c.is_ascii_digit() {
        Class::Digit
    } else if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphanumeric() {
        Class::Letter
    } else {
        Class::Sep
    }
}

/// Han, kana and Hangul: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // hiragana, katakana
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0x20000..=0x2FA1F // CJK extensions B-F, compatibility supplement
    )
}

/// A run of letters or digits, by byte offsets into the text.
#[derive(Debug, Clone, Copy)]
struct Atom {
    from: usize,
    to: usize,
    class: Class,
}

/// One segment of a word: a letter run, or a version (digit runs joined by dots).
#[derive(Debug, Clone)]
pub struct Segment {
    pub from: usize,
    pub to: usize,
    /// Offsets of each number of a version (one entry for a letter run or a plain number).
    parts: Vec<(usize, usize)>,
    digits: bool,
}

/// What text is cut into: words (of segments) and runs of CJK characters.
#[derive(Debug, Clone)]
pub enum Piece {
    Word {
        from: usize,
        to: usize,
        segments: Vec<Segment>,
    },
    Cjk {
        chars: Vec<(usize, usize)>,
    },
}

fn atoms(text: &str) -> Vec<Atom> {
    let mut out: Vec<Atom> = Vec::new();
    for (i, c) in text.char_indices() {
        let k = class(c);
        let end = i + c.len_utf8();
        match (out.last_mut(), k) {
            (_, Class::Sep) => {}
            (Some(last), Class::Letter | Class::Digit) if last.class == k && last.to == i => {
                last.to = end
            }
            _ => out.push(Atom {
                from: i,
                to: end,
                class: k,
            }),
        }
    }
    out
}

/// Cuts text into words and CJK runs (see the module docs).
pub fn pieces(text: &str) -> Vec<Piece> {
    let atoms = atoms(text);
    let bytes = text.as_bytes();
    let mut out: Vec<Piece> = Vec::new();
    let mut i = 0;
    while i < atoms.len() {
        let a = atoms[i];
        if a.class == Class::Cjk {
            let mut chars = vec![(a.from, a.to)];
            while i + 1 < atoms.len()
                && atoms[i + 1].class == Class::Cjk
                && atoms[i + 1].from == chars.last().map_or(0, |c| c.1)
            {
                i += 1;
                chars.push((atoms[i].from, atoms[i].to));
            }
            out.push(Piece::Cjk { chars });
            i += 1;
            continue;
        }
        // A word: atoms that touch, or digits joined by exactly one dot.
        let mut segments: Vec<Segment> = Vec::new();
        let mut j = i;
        loop {
            let cur = atoms[j];
            let joins_version = |prev: &Segment| {
                prev.digits
                    && cur.class == Class::Digit
                    && cur.from == prev.to + 1
                    && bytes[prev.to] == b'.'
            };
            match segments.last_mut() {
                Some(prev) if joins_version(prev) => {
                    prev.to = cur.to;
                    prev.parts.push((cur.from, cur.to));
                }
                _ => segments.push(Segment {
                    from: cur.from,
                    to: cur.to,
                    parts: vec![(cur.from, cur.to)],
                    digits: cur.class == Class::Digit,
                }),
            }
            let Some(next) = atoms.get(j + 1) else { break };
            let last = segments.last().expect("a segment was just pushed");
            let touches = next.class != Class::Cjk && next.from == last.to;
            let dotted = last.digits
                && next.class == Class::Digit
                && next.from == last.to + 1
                && bytes[last.to] == b'.';
            if !(touches || dotted) {
                break;
            }
            j += 1;
        }
        let from = segments.first().map_or(a.from, |s| s.from);
        let to = segments.last().map_or(a.to, |s| s.to);
        out.push(Piece::Word { from, to, segments });
        i = j + 1;
    }
    out
}

/// What joins words into a component.
const JOINERS: [&str; 2] = ["_", "."];

/// Whether the text between two words is exactly one separator character (`cuda_10.2`,
/// `CUDA 10.2`), which still binds a name to its version.
fn one_char_apart(text: &str, from: usize, to: usize) -> bool {
    to > from && text[from..to].chars().count() == 1
}

/// A name and its version glued, once per dotted prefix of the version:
/// `cuda` + `10.2.1` gives `cuda10`, `cuda10.2`, `cuda10.2.1` (with the end of each prefix).
fn pair_variants(text: &str, name: &Segment, version: &Segment) -> Vec<(String, usize)> {
    let head = &text[name.from..name.to];
    (1..=version.parts.len())
        .map(|k| {
            let end = version.parts[k - 1].1;
            (format!("{head}{}", &text[version.from..end]), end)
        })
        .collect()
}

/// Tokens written into reused buffers: indexing cuts every field of every version, and
/// allocating a string per term made the allocator the bottleneck.
#[derive(Clone, Default)]
pub struct TokenBuf {
    tokens: Vec<Token>,
    len: usize,
}

impl TokenBuf {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn push(&mut self, from: usize, to: usize, position: usize, parts: &[&str]) {
        if self.len == self.tokens.len() {
            self.tokens.push(Token::default());
        }
        let t = &mut self.tokens[self.len];
        t.offset_from = from;
        t.offset_to = to;
        t.position = position;
        t.position_length = 1;
        t.text.clear();
        for p in parts {
            t.text.push_str(p);
        }
        self.len += 1;
    }

    fn tokens(&mut self) -> &mut [Token] {
        &mut self.tokens[..self.len]
    }

    /// Orders by position and drops a term repeated at one position.
    fn sort_dedup(&mut self) {
        let live = &mut self.tokens[..self.len];
        live.sort_by(|a, b| {
            a.position
                .cmp(&b.position)
                .then_with(|| a.text.cmp(&b.text))
        });
        let mut kept = 0;
        for i in 0..live.len() {
            if kept > 0
                && live[kept - 1].position == live[i].position
                && live[kept - 1].text == live[i].text
            {
                continue;
            }
            live.swap(kept, i);
            kept += 1;
        }
        self.len = kept;
    }
}

/// Whether segment `k` of a word is a plain number that letters follow in the same word: part
/// of a code (`910` of `910b`, `9` of `snt9b`), neither a number nor a name's version on its
/// own, so `910` does not find `910b` nor `snt9` find `snt9b` (the word is kept whole). A dotted
/// version is one still (`2.7.0rc1` is `2.7.0`).
fn coded(segments: &[Segment], k: usize) -> bool {
    let seg = &segments[k];
    seg.digits && seg.parts.len() == 1 && segments.get(k + 1).is_some_and(|n| !n.digits)
}

/// The index-time cut: every term at its position, with offsets for highlighting.
///
/// Besides segments, versions' parts and whole words, two kinds of compound terms make common
/// multi-part queries single-term lookups instead of phrase queries:
/// - *pairs*: a letter segment followed by a version, glued or one character apart, is also
///   kept glued, once per dotted prefix of the version (`cuda_10.2` and `CUDA 10.2` both give
///   `cuda10` and `cuda10.2`, as `cuda10.2` does), so `cuda 10.2`, `cuda10.2` and
///   `"cuda 10.2"` are one term, and so is the proximity of `mindspore 2.0`; not when the
///   version is a plain number that letters follow ([`coded`]: `snt9b` is no `snt9`);
/// - *components*: words joined by single underscores, or by single dots, are also kept whole
///   (`x86_64`, `8.0.rc1`).
fn index_tokens(text: &str, out: &mut TokenBuf) {
    out.clear();
    let mut pos = 0usize;
    // The previous word: its last segment with its position, and its underscore run.
    let mut prev: Option<(Segment, usize)> = None;
    // Runs of words joined by one joiner: (from, to, position, words), one per joiner.
    let mut runs: [Option<(usize, usize, usize, usize)>; 2] = [None, None];
    let flush_run = |out: &mut TokenBuf, run: &mut Option<(usize, usize, usize, usize)>| {
        if let Some((from, to, position, words)) = run.take() {
            if words > 1 {
                out.push(from, to, position, &[&text[from..to]]);
            }
        }
    };
    for piece in pieces(text) {
        match piece {
            Piece::Word { from, to, segments } => {
                let first = pos;
                if let Some((last, at)) = &prev {
                    if !last.digits
                        && segments[0].digits
                        && !coded(&segments, 0)
                        && one_char_apart(text, last.to, from)
                    {
                        let head = &text[last.from..last.to];
                        for &(_, end) in &segments[0].parts {
                            out.push(last.from, end, *at, &[head, &text[segments[0].from..end]]);
                        }
                    }
                }
                for (run, joiner) in runs.iter_mut().zip(JOINERS) {
                    *run = match run.take() {
                        Some((rf, rt, rp, n)) if &text[rt..from] == joiner => {
                            Some((rf, to, rp, n + 1))
                        }
                        other => {
                            let mut other = other;
                            flush_run(out, &mut other);
                            Some((from, to, first, 1))
                        }
                    };
                }
                for (i, seg) in segments.iter().enumerate() {
                    if !coded(&segments, i) {
                        out.push(seg.from, seg.to, pos, &[&text[seg.from..seg.to]]);
                    }
                    if seg.parts.len() > 1 {
                        // Dotted prefixes (`1.8` of `1.8.0`) and each number.
                        for k in 2..seg.parts.len() {
                            let end = seg.parts[k - 1].1;
                            out.push(seg.from, end, pos, &[&text[seg.from..end]]);
                        }
                        let mut seen: Vec<&str> = Vec::new();
                        for &(f, t) in &seg.parts {
                            if !seen.contains(&&text[f..t]) {
                                seen.push(&text[f..t]);
                                out.push(f, t, pos, &[&text[f..t]]);
                            }
                        }
                    }
                    if let Some(next) = segments.get(i + 1) {
                        if !seg.digits && next.digits && !coded(&segments, i + 1) {
                            let head = &text[seg.from..seg.to];
                            for &(_, end) in &next.parts {
                                out.push(seg.from, end, pos, &[head, &text[next.from..end]]);
                            }
                        }
                    }
                    pos += 1;
                }
                if segments.len() > 1 {
                    out.push(from, to, first, &[&text[from..to]]);
                }
                prev = segments.last().cloned().map(|s| (s, pos - 1));
            }
            Piece::Cjk { chars } => {
                prev = None;
                for run in runs.iter_mut() {
                    flush_run(out, run);
                }
                for (k, &(f, t)) in chars.iter().enumerate() {
                    out.push(f, t, pos + k, &[&text[f..t]]);
                    if let Some(&(_, t2)) = chars.get(k + 1) {
                        out.push(f, t2, pos + k, &[&text[f..t2]]);
                    }
                }
                pos += chars.len();
            }
        }
    }
    for run in runs.iter_mut() {
        flush_run(out, run);
    }
    // Positions of one term must not go backwards within a document (tantivy delta-encodes
    // them); compound terms are emitted after their parts, so order by position, and drop a
    // term repeated at one position (`cuda10.2` is both a whole word and a pair).
    out.sort_dedup();
}

/// The index-time tokenizer (wrapped with filters in [`ident_analyzer`] and [`text_analyzer`]).
#[derive(Clone, Default)]
pub struct ImageTokenizer {
    buf: TokenBuf,
}

/// A stream over the tokenizer's buffer, which filters may rewrite in place.
pub struct BufTokenStream<'a> {
    tokens: &'a mut [Token],
    next: usize,
}

impl TokenStream for BufTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for ImageTokenizer {
    type TokenStream<'a> = BufTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> BufTokenStream<'a> {
        index_tokens(text, &mut self.buf);
        BufTokenStream {
            tokens: self.buf.tokens(),
            next: 0,
        }
    }
}

/// Indexes a text by what it adds to another it holds, its *base*: a tag by what it adds to the
/// image's name, an SWR path by what it adds to the tag.
///
/// A tag is mostly the name again (`pytorch_2.1.0-...-snt9b` + `-20240606190017-7a9d3b5`), and
/// a path is the tag behind a registry and a namespace: indexed whole, their words were most of
/// what a sync's index build writes, and cutting them most of its work. The value is `base`
/// [`BASE_SEPARATOR`] `text`. When the text holds the base between clean boundaries (see
/// [`clean_occurrence`]), the stream is [`COVERS_BASE`] and then the terms of the text before
/// and after the base, each part cut on its own; otherwise it is every term of the text. Cut
/// apart at clean boundaries, the parts and the base have exactly the terms of the whole text,
/// so, for any term `t`: the text has `t` exactly when this field has `t`, or has
/// [`COVERS_BASE`] and the base has `t` (which is how `tag:` and `swr_path:` are searched, see
/// `search::Compiler`). Phrases inside the base are found through the base, and phrases inside
/// the part before or after it here; a phrase that runs from the name into the rest of a tag
/// (`tag:"aarch64-20240606"`) is not found.
///
/// It runs in the index writer's threads, off the thread that builds documents.
#[derive(Clone)]
pub struct RestTokenizer {
    ident: TextAnalyzer,
    kept: Vec<Token>,
}

/// Between the name and the text in a value for [`RestTokenizer`].
const BASE_SEPARATOR: char = '\u{1}';

/// The term saying "and every term of the base" (never produced from text: the separator
/// separates).
pub const COVERS_BASE: &str = "\u{1}";

/// The value [`RestTokenizer`] indexes for `text` beside its base `name` (and the index stores).
pub fn with_base(name: &str, text: &str) -> String {
    format!("{name}{BASE_SEPARATOR}{text}")
}

/// The text of a value made by [`with_base`] (the value itself when it has no name in front).
pub fn without_base(value: &str) -> &str {
    value
        .split_once(BASE_SEPARATOR)
        .map_or(value, |(_, text)| text)
}

/// Where `text` holds `name` so that cutting the text around it changes no term: the characters
/// around it separate words and join nothing (not a letter or digit, not `_` or `.`), and no
/// digit starts the name after a word before it (that would glue them, as in `cuda_10.2`).
/// Returns the offset, and where the text after the name is to be cut from: the name's end,
/// or the start of its last word when a version follows that word's last letters across one
/// character (`snt9b-2024...` glues `b` and `2024...`: the part after is cut with the word).
fn clean_occurrence(text: &str, name: &str) -> Option<(usize, usize)> {
    if name.is_empty() {
        return None;
    }
    let separates = |c: char| class(c) == Class::Sep && c != '_' && c != '.';
    let first = name.chars().next()?;
    let last = name.chars().next_back()?;
    let at = text.match_indices(name).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let next = text[at + name.len()..].chars().next();
        before.is_none_or(separates)
            && next.is_none_or(separates)
            && !(before.is_some() && first.is_ascii_digit())
    })?;
    let mut after = text[at + name.len()..].chars().skip(1);
    let glued = class(last) == Class::Letter && after.next().is_some_and(|c| c.is_ascii_digit());
    let cut_from = if glued {
        match pieces(name).last() {
            Some(Piece::Word { from, .. }) => at + from,
            _ => return None,
        }
    } else {
        at + name.len()
    };
    Some((at, cut_from))
}

impl Default for RestTokenizer {
    fn default() -> Self {
        RestTokenizer {
            ident: ident_analyzer(),
            kept: Vec::new(),
        }
    }
}

impl RestTokenizer {
    /// Appends the terms of `value[from..to]`, positions moved by `shift`; returns the position
    /// after the last.
    fn cut(&mut self, value: &str, from: usize, to: usize, shift: usize) -> usize {
        let mut end = shift;
        let mut words = self.ident.token_stream(&value[from..to]);
        while let Some(t) = words.next() {
            let mut t = t.clone();
            t.offset_from += from;
            t.offset_to += from;
            t.position += shift;
            end = end.max(t.position + 1);
            self.kept.push(t);
        }
        end
    }
}

impl Tokenizer for RestTokenizer {
    type TokenStream<'a> = BufTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, value: &'a str) -> BufTokenStream<'a> {
        let (name, start) = match value.split_once(BASE_SEPARATOR) {
            Some((name, _)) => (name, name.len() + BASE_SEPARATOR.len_utf8()),
            None => ("", 0),
        };
        self.kept.clear();
        match clean_occurrence(&value[start..], name) {
            Some((at, cut_from)) => {
                let (at, after, cut_from) = (start + at, start + at + name.len(), start + cut_from);
                self.kept.push(Token {
                    offset_from: at,
                    offset_to: after,
                    position: 0,
                    text: COVERS_BASE.to_string(),
                    position_length: 1,
                });
                let end = self.cut(value, start, at, 0);
                // A gap where the name was: no phrase runs across it.
                let first_after = self.kept.len();
                self.cut(value, cut_from, value.len(), end + 1);
                // The name's last word, when cut with the rest for what glues to it, is the
                // name's: only the terms that reach past it are kept.
                if cut_from < after {
                    let mut rest = self.kept.split_off(first_after);
                    rest.retain(|t| t.offset_to > after);
                    self.kept.append(&mut rest);
                }
            }
            None => {
                self.cut(value, start, value.len(), 0);
            }
        }
        BufTokenStream {
            tokens: &mut self.kept,
            next: 0,
        }
    }
}

/// Names, tags, paths, namespaces: cut, lowercased, ASCII-folded.
pub fn ident_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(ImageTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .build()
}

/// Descriptions: as names, plus English stemming.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(ImageTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .build()
}

/// Enum-like fields (arch, status, ...): the whole value, lowercased (`AARCH64` = `aarch64`).
pub fn enum_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .build()
}

/// Which analysis a field gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Ident,
    Text,
}

/// A query word, analyzed for one kind of field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWord {
    /// The terms with their positions relative to the first (several make a phrase).
    pub terms: Vec<(usize, String)>,
    /// How many positions the word spans (where a following word would start).
    pub span: usize,
    /// The word kept whole, when the query word is one word of several segments
    /// (`cuda10.2`, `snt9b`).
    pub whole: Option<String>,
    /// The name-and-version pair the query is, glued (`cuda 10.2`, `cuda_10.2`, `cuda10.2` all
    /// give `cuda10.2`): one term that the index holds for every such spelling.
    pub pair: Option<String>,
    /// Words joined by single underscores or single dots, whole (`x86_64`, `8.0.rc1`).
    pub component: Option<String>,
    /// The text of the first and the last segment, as typed (for glued pairs across words).
    pub first_segment: Option<String>,
    pub last_segment: Option<String>,
    /// Whether the word is a single run of letters (the only terms typo tolerance applies to).
    pub letters_only: bool,
    /// Whether the word holds Chinese, Japanese or Korean text.
    pub cjk: bool,
    /// The length in characters of the word, for typo tolerance.
    pub chars: usize,
}

/// Normalizes query terms exactly as the index-time filters normalize indexed terms.
pub struct QueryAnalyzer {
    ident: TextAnalyzer,
    text: TextAnalyzer,
    enumv: TextAnalyzer,
}

impl Default for QueryAnalyzer {
    fn default() -> Self {
        let norm = |stem: bool| {
            let b = TextAnalyzer::builder(RawTokenizer::default())
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter);
            if stem {
                b.filter(Stemmer::new(Language::English)).build()
            } else {
                b.build()
            }
        };
        QueryAnalyzer {
            ident: norm(false),
            text: norm(true),
            enumv: enum_analyzer(),
        }
    }
}

fn first_token(a: &mut TextAnalyzer, s: &str) -> Option<String> {
    let mut stream = a.token_stream(s);
    stream.next().map(|t| t.text.clone())
}

impl QueryAnalyzer {
    fn norm(&mut self, kind: Kind, s: &str) -> Option<String> {
        let a = match kind {
            Kind::Ident => &mut self.ident,
            Kind::Text => &mut self.text,
        };
        first_token(a, s).filter(|t| !t.is_empty() && t.len() <= MAX_TERM_BYTES)
    }

    /// The term an enum field holds for `value` (`AARCH64` -> `aarch64`).
    pub fn enum_value(&mut self, value: &str) -> Option<String> {
        first_token(&mut self.enumv, value.trim()).filter(|t| !t.is_empty())
    }

    /// Analyzes one query word (or a quoted phrase) for a kind of field. Positions follow the
    /// index-time cut: one per segment, one per CJK character.
    pub fn word(&mut self, kind: Kind, text: &str) -> QueryWord {
        let pieces = pieces(text);
        let mut terms = Vec::new();
        let mut whole = None;
        let mut pos = 0usize;
        let mut cjk = false;
        for piece in &pieces {
            match piece {
                Piece::Word { from, to, segments } => {
                    for seg in segments {
                        if let Some(t) = self.norm(kind, &text[seg.from..seg.to]) {
                            terms.push((pos, t));
                        }
                        pos += 1;
                    }
                    if pieces.len() == 1 && segments.len() > 1 {
                        whole = self.norm(kind, &text[*from..*to]);
                    }
                }
                Piece::Cjk { chars } => {
                    cjk = true;
                    if chars.len() == 1 {
                        let (f, t) = chars[0];
                        if let Some(t) = self.norm(kind, &text[f..t]) {
                            terms.push((pos, t));
                        }
                    } else {
                        for (k, w) in chars.windows(2).enumerate() {
                            if let Some(t) = self.norm(kind, &text[w[0].0..w[1].1]) {
                                terms.push((pos + k, t));
                            }
                        }
                    }
                    pos += chars.len();
                }
            }
        }
        let letters_only = matches!(
            pieces.as_slice(),
            [Piece::Word { segments, .. }] if segments.len() == 1 && !segments[0].digits
        );
        let pair = match pieces.as_slice() {
            [Piece::Word { segments, .. }] if segments.len() == 2 => {
                Some((&segments[0], &segments[1]))
            }
            [Piece::Word { segments: a, .. }, Piece::Word { segments: b, .. }]
                if a.len() == 1 && b.len() == 1 && one_char_apart(text, a[0].to, b[0].from) =>
            {
                Some((&a[0], &b[0]))
            }
            _ => None,
        }
        .filter(|(l, v)| !l.digits && v.digits)
        .and_then(|(l, v)| {
            let glued = pair_variants(text, l, v).pop()?.0;
            self.norm(kind, &glued)
        });
        let joined_by = |joiner: &str| {
            pieces.windows(2).all(|w| match w {
                [Piece::Word { to: t, .. }, Piece::Word { from: f, .. }] => &text[*t..*f] == joiner,
                _ => false,
            })
        };
        let component = match pieces.as_slice() {
            [Piece::Word { from, .. }, .., Piece::Word { to, .. }]
                if JOINERS.iter().any(|j| joined_by(j)) =>
            {
                self.norm(kind, &text[*from..*to])
            }
            _ => None,
        };
        let chars = match pieces.as_slice() {
            [Piece::Word { from, to, .. }] => text[*from..*to].chars().count(),
            _ => 0,
        };
        let segment_text = |p: Option<&Piece>, last: bool| match p {
            Some(Piece::Word { segments, .. }) => {
                let seg = if last {
                    segments.last()
                } else {
                    segments.first()
                }?;
                Some(text[seg.from..seg.to].to_string())
            }
            _ => None,
        };
        let first_segment = segment_text(pieces.first(), false);
        let last_segment = segment_text(pieces.last(), true);
        QueryWord {
            terms,
            span: pos,
            whole,
            pair,
            component,
            first_segment,
            last_segment,
            letters_only,
            cjk,
            chars,
        }
    }
}

/// Runs an index-time analyzer over text: (term, byte range) for highlighting.
pub fn index_terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        out.push((t.text.clone(), t.offset_from, t.offset_to));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(a: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut s = a.token_stream(text);
        while let Some(t) = s.next() {
            out.push((t.position, t.text.clone()));
        }
        out
    }

    fn term_set(a: &mut TextAnalyzer, text: &str) -> std::collections::HashSet<String> {
        terms(a, text).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn rest_cuts_the_text_around_the_name() {
        let mut ident = ident_analyzer();
        let mut rest = TextAnalyzer::builder(RestTokenizer::default()).build();
        let cases = [
            (
                "pytorch_2.1.0-cann_8.0.rc1-py_3.9-euler_2.10.7-aarch64",
                "swr.cn-southwest-2.myhuaweicloud.com/atelier/pytorch_ascend:",
                "-20240606190017-7a9d3b5",
            ),
            ("mindie_1.0.0-cuda_10.2", "", "-20240407042640-55b3582"),
            ("昇腾推理", "ml-infra/", ":v1"),
        ];
        for (name, before, after) in cases {
            let text = format!("{before}{name}{after}");
            let mut want: Vec<(usize, String)> = vec![(0, COVERS_BASE.to_string())];
            let left = terms(&mut ident, before);
            let shift = left.iter().map(|(p, _)| p + 1).max().unwrap_or(0) + 1;
            want.extend(left);
            want.extend(
                terms(&mut ident, after)
                    .into_iter()
                    .map(|(p, t)| (p + shift, t)),
            );
            let value = with_base(name, &text);
            assert_eq!(terms(&mut rest, &value), want, "{name} / {text}");
            assert!(want.len() > 2, "{name} / {text} checks nothing");
            assert_eq!(without_base(&value), text);
        }
        // A version glued to the name's last letters (`b20240606190017`) is kept, the name's
        // last word (`snt9b`) is not.
        let glued = terms(
            &mut rest,
            &with_base(
                "pytorch_2.1.0-snt9b",
                "pytorch_2.1.0-snt9b-20240606190017-7a9d3b5",
            ),
        );
        let glued: Vec<&str> = glued.iter().map(|(_, t)| t.as_str()).collect();
        assert!(glued.contains(&COVERS_BASE) && glued.contains(&"b20240606190017"));
        assert!(!glued.contains(&"snt9b") && !glued.contains(&"pytorch"));
        // Where cutting would change a term, or the text does not hold the name: every word,
        // without the marker.
        for (name, text) in [
            // `_` joins: `x_cann_8.0` is a term of the text.
            ("cann_8.0", "x_cann_8.0"),
            // A name starting with a version right after a word.
            ("1.2-py", "cuda-1.2-py"),
            (
                "notebook2.0-mul-kernel-cpu-cp36",
                "5.0.1-release-v2-20220505",
            ),
            ("", "only_text-1.2"),
        ] {
            let value = with_base(name, text);
            assert_eq!(terms(&mut rest, &value), terms(&mut ident, text), "{name}");
        }
        // A value without a name is all text.
        assert_eq!(terms(&mut rest, "cann_8.0"), terms(&mut ident, "cann_8.0"));
        assert_eq!(without_base("cann_8.0"), "cann_8.0");
    }

    /// What `tag:` and `swr_path:` rely on: a term is in the text exactly when the field has it,
    /// or the field covers its base (the name of a tag, the tag of a path) and the base has it.
    /// Checked on every image of the fixture catalogs and of a generated one.
    #[test]
    fn rest_and_base_together_have_exactly_the_terms_of_the_text() {
        let mut ident = ident_analyzer();
        let mut rest = TextAnalyzer::builder(RestTokenizer::default()).build();
        let mut images: Vec<serde_json::Value> = crate::simulate::generate::generate(3000, 7);
        for day in crate::simulate::FIXTURE_DAYS {
            images.extend(serde_json::from_str::<Vec<serde_json::Value>>(day).unwrap());
        }
        // Names next to every kind of character a tag or path could put beside them.
        for (name, text) in [
            ("a-1", "x_a-1-2"),
            ("py_3.9", "cuda10.py_3.9.1"),
            ("snt9b", "x/snt9b-2"),
            ("snt9b", "x/snt9b--2"),
            ("v1", "1.v1:1"),
            ("昇腾", "推理昇腾推理"),
            ("昇腾", "a/昇腾/b"),
            ("x86_64", "arm-x86_64_v2"),
        ] {
            images.push(serde_json::json!({"name": name, "tag": text}));
        }
        let (mut checked, mut covered) = (0, 0);
        for image in &images {
            for (key, base) in [("tag", "name"), ("swr_path", "tag")] {
                let Some(text) = image[key].as_str() else {
                    continue;
                };
                let base = image[base].as_str().unwrap_or("");
                let field = term_set(&mut rest, &with_base(base, text));
                let (in_text, in_base) = (term_set(&mut ident, text), term_set(&mut ident, base));
                let covers = field.contains(COVERS_BASE);
                covered += usize::from(covers);
                for t in in_text.union(&in_base) {
                    let found = field.contains(t) || (covers && in_base.contains(t));
                    assert_eq!(
                        found,
                        in_text.contains(t),
                        "{t:?} in {key} {text:?} of {base:?}"
                    );
                }
                assert!(field
                    .iter()
                    .all(|t| t == COVERS_BASE || in_text.contains(t)));
                checked += 1;
            }
        }
        assert!(
            checked > 6000 && covered > checked / 2,
            "{covered} of {checked}"
        );
    }

    fn at(a: &mut TextAnalyzer, text: &str, pos: usize) -> Vec<String> {
        let mut v: Vec<String> = terms(a, text)
            .into_iter()
            .filter(|(p, _)| *p == pos)
            .map(|(_, t)| t)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn names_split_at_separators_and_letter_digit_boundaries() {
        let mut a = ident_analyzer();
        let name = "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64";
        assert_eq!(
            at(&mut a, name, 0),
            [
                "pytorch",
                "pytorch1",
                "pytorch1.8",
                "pytorch1.8.0",
                "pytorch_1.8.0"
            ]
        );
        assert_eq!(at(&mut a, name, 1), ["0", "1", "1.8", "1.8.0", "8"]);
        assert_eq!(
            at(&mut a, name, 2),
            ["cuda", "cuda10", "cuda10.2", "cuda_10.2"]
        );
        assert_eq!(at(&mut a, name, 3), ["10", "10.2", "2"]);
        assert_eq!(at(&mut a, name, 8), ["x", "x86", "x86_64"]);
        assert_eq!(at(&mut a, name, 9), ["86"]);
        assert_eq!(at(&mut a, name, 10), ["64"]);
    }

    #[test]
    fn glued_words_are_kept_whole_too() {
        let mut a = ident_analyzer();
        let name = "mindspore1.8.0-cann5.1.2-py3.7-euler2.8.3-AARCH64-snt9b";
        let all: Vec<String> = terms(&mut a, name).into_iter().map(|(_, t)| t).collect();
        for t in [
            "mindspore",
            "1.8",
            "mindspore1.8.0",
            "cann",
            "5.1.2",
            "euler2.8.3",
            "aarch64",
            "aarch",
            "64",
            "snt9b",
            "snt",
            "b",
        ] {
            assert!(all.contains(&t.to_string()), "{t} missing from {all:?}");
        }
        // A plain number that letters follow is part of a code: `snt9b` is no `snt9` and no
        // `9`, `910b` no `910`; a dotted version still is one (`2.7.0rc1` is `2.7.0`).
        assert!(!all.contains(&"snt9".to_string()) && !all.contains(&"9".to_string()));
        let all: Vec<String> = terms(&mut a, "ascend-910b snt3p ascend910b torch2.7.0rc1")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        for t in ["910b", "snt3p", "ascend910b", "2.7.0", "torch2.7.0"] {
            assert!(all.contains(&t.to_string()), "{t} missing from {all:?}");
        }
        for t in ["910", "snt3", "ascend910", "3"] {
            assert!(!all.contains(&t.to_string()), "{t} in {all:?}");
        }
        // a dot after a version and before letters separates: `8.0.rc1` is `8.0` and `rc1`
        // (and, as a component, `8.0.rc1`), never a version `8.0.rc`
        let all: Vec<String> = terms(&mut a, "cann_8.0.rc1")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert!(all.contains(&"8.0".to_string()) && all.contains(&"rc1".to_string()));
        assert!(!all.iter().any(|t| t.ends_with("0.rc")));
    }

    #[test]
    fn names_and_versions_are_also_kept_glued() {
        let mut a = ident_analyzer();
        let all = |a: &mut TextAnalyzer, t: &str| -> Vec<String> {
            terms(a, t).into_iter().map(|(_, t)| t).collect()
        };
        let name = all(&mut a, "pytorch_1.8.0-cuda_10.2-py_3.7-ubuntu_18.04-x86_64");
        for t in [
            "pytorch1",
            "pytorch1.8",
            "pytorch1.8.0",
            "cuda10.2",
            "py3.7",
            "ubuntu18.04",
            "x86_64",
        ] {
            assert!(name.contains(&t.to_string()), "{t} missing from {name:?}");
        }
        // not across two separators, and not digits then letters
        let other = all(&mut a, "cuda__10.2 7b");
        assert!(!other.iter().any(|t| t.starts_with("cuda1")), "{other:?}");
        let rc = all(&mut a, "cann_8.0.rc1-py");
        for t in ["cann_8.0", "8.0.rc1", "cann8.0"] {
            assert!(rc.contains(&t.to_string()), "{t} missing from {rc:?}");
        }
        let glued = all(&mut a, "mindspore1.8.0-euler2.8.3");
        for t in ["mindspore1.8", "euler2.8", "euler2"] {
            assert!(glued.contains(&t.to_string()), "{t} missing from {glued:?}");
        }
        let mut d = text_analyzer();
        assert!(all(&mut d, "with CUDA 10.2, Ubuntu 18.04").contains(&"cuda10.2".to_string()));
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let mut a = ident_analyzer();
        let name = "Pytorch2.1-CANN8-Custom";
        let toks = index_terms(&mut a, name);
        for (t, f, to) in toks {
            assert_eq!(name[f..to].to_lowercase(), t);
        }
    }

    #[test]
    fn descriptions_are_stemmed_and_chinese_becomes_bigrams() {
        let mut a = text_analyzer();
        let all: Vec<String> = terms(&mut a, "Preconfigured images 昇腾推理镜像")
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert!(all.contains(&"imag".to_string()), "{all:?}");
        for t in ["昇", "昇腾", "腾推", "推理", "镜像", "像"] {
            assert!(all.contains(&t.to_string()), "{t} missing from {all:?}");
        }
    }

    #[test]
    fn accents_fold_to_ascii() {
        let mut a = ident_analyzer();
        assert_eq!(at(&mut a, "Café-déjà", 0), ["cafe"]);
    }

    #[test]
    fn query_words_become_one_term_per_position() {
        let mut q = QueryAnalyzer::default();
        let texts = |w: &QueryWord| w.terms.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
        let w = q.word(Kind::Ident, "cuda10.2");
        assert_eq!(texts(&w), ["cuda", "10.2"]);
        assert_eq!(w.whole.as_deref(), Some("cuda10.2"));
        assert_eq!(w.pair.as_deref(), Some("cuda10.2"));
        let w = q.word(Kind::Ident, "PyTroch");
        assert_eq!(texts(&w), ["pytroch"]);
        assert!(w.letters_only);
        assert_eq!(w.chars, 7);
        for spelling in ["cuda 10.2", "CUDA_10.2", "cuda-10.2"] {
            assert_eq!(
                q.word(Kind::Ident, spelling).pair.as_deref(),
                Some("cuda10.2")
            );
        }
        assert_eq!(q.word(Kind::Ident, "cuda  10.2").pair, None);
        assert_eq!(q.word(Kind::Ident, "snt9b").pair, None);
        let w = q.word(Kind::Ident, "x86_64");
        assert_eq!(texts(&w), ["x", "86", "64"]);
        assert_eq!(w.whole, None);
        assert_eq!(w.component.as_deref(), Some("x86_64"));
        let w = q.word(Kind::Ident, "8.0.RC1");
        assert_eq!(w.component.as_deref(), Some("8.0.rc1"));
        let w = q.word(Kind::Text, "images");
        assert_eq!(texts(&w), ["imag"]);
        let w = q.word(Kind::Text, "昇腾镜像");
        assert_eq!(
            w.terms,
            [
                (0, "昇腾".to_string()),
                (1, "腾镜".into()),
                (2, "镜像".into())
            ]
        );
        let w = q.word(Kind::Text, "昇腾 镜像");
        assert_eq!(w.terms, [(0, "昇腾".to_string()), (2, "镜像".into())]);
        assert!(w.cjk);
        assert!(q.word(Kind::Ident, "--- ").terms.is_empty());
        assert_eq!(q.enum_value(" AARCH64 ").as_deref(), Some("aarch64"));
    }

    #[test]
    fn odd_text_never_panics() {
        let mut a = text_analyzer();
        let mut q = QueryAnalyzer::default();
        for s in [
            "",
            ".",
            "1.",
            ".1",
            "1..2",
            "a.1",
            "1.a",
            "\u{0}\u{1b}[31m",
            "ǅ²³½",
            "🦀🦀",
            "a\u{301}",
            "9999999999999999999999999999.1",
        ] {
            let _ = terms(&mut a, s);
            let _ = q.word(Kind::Ident, s);
            let _ = q.word(Kind::Text, s);
        }
    }
}
