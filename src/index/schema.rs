//! The index schema: one document per *version* of an image (a row of the mirror's `versions`
//! table), with the run range in which that version was live.
//!
//! Text fields get the image-name analysis of [`super::analyze`]; enum-like fields (arch,
//! status, ...) are whole lowercased values, indexed for `field:value` and the command's filter
//! flags, and kept as fast fields. `valid_from`/`valid_to` (runs; `valid_to` is [`LIVE`] while
//! the version is in the catalog) are indexed fast fields, so a search can be asked about any
//! point in history. Only image fields are indexed: nothing about credentials or endpoints.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
    STRING,
};

use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexSettings, IndexSortByField, Order, TantivyDocument};

use super::analyze::{self, Kind};
use crate::api::types::Image;
use crate::store::feed::IndexedVersion;

/// `valid_to` of a version that is still in the catalog.
pub const LIVE: u64 = u64::MAX;

/// The version of this schema and of the analysis behind it. An index written with another
/// version is rebuilt (tokenization changes make old terms unreachable).
pub const FORMAT: u32 = 7;

/// A text field users can search: name in queries, its analysis, and its weight in ranking.
#[derive(Debug, Clone, Copy)]
pub struct TextField {
    pub name: &'static str,
    pub field: Field,
    pub kind: Kind,
    /// Added to a word's score when the word matches in this field (name/tag over description).
    pub weight: f32,
    pub role: Role,
    /// Set for a field indexed by what it adds to another ([`analyze::RestTokenizer`]): that
    /// field (the tag's is the name, the path's the tag), looked up too where this field holds
    /// [`analyze::COVERS_BASE`] when the field is asked for by name.
    pub base: Option<Field>,
}

/// An enum-like field: the query name (`category`), and the field behind it.
#[derive(Debug, Clone, Copy)]
pub struct EnumField {
    pub name: &'static str,
    pub field: Field,
}

/// Handles to every field of the schema.
#[derive(Debug, Clone)]
pub struct Fields {
    pub version_id: Field,
    pub scope_id: Field,
    pub image_id: Field,
    pub valid_from: Field,
    pub valid_to: Field,
    pub name: Field,
    pub name_head: Field,
    pub name_rank: Field,
    pub recency: Field,
    pub updated: Field,
    pub id_rank: Field,
    /// The whole name, lowercased: an exact-name match ranks first among equals.
    pub name_exact: Field,
    pub tag: Field,
    pub show_name: Field,
    pub description: Field,
    pub swr_path: Field,
    pub namespace: Field,
    pub arch: Field,
    pub service_type: Field,
    pub image_type: Field,
    pub status: Field,
    pub category: Field,
    pub dev_service: Field,
    pub visibility: Field,
    pub flavor_type: Field,
    pub origin: Field,
    /// The searchable text fields, best-ranked first.
    pub text: Vec<TextField>,
    /// The enum fields `field:value` accepts, by query name.
    pub enums: Vec<EnumField>,
}

/// Text fields: name, analysis, weight, and how they are searched. The weight orders
/// attributes, as Meilisearch's attribute rule does: a word found in the name beats the same
/// word found in the description.
const TEXT_FIELDS: &[(&str, Kind, f32, Role)] = &[
    // The first word of the name (`pytorch` of `pytorch_2.1.0-...`, `pytorch1.8` of
    // `pytorch1.8-cuda10.2-...`): what an image *is*, over what it is built on
    // (`verl_0.7.0-pytorch_2.7.1-...`). Searched with `name`, never on its own.
    (NAME_HEAD, Kind::Ident, 11.0, Role::Hidden),
    ("name", Kind::Ident, 10.0, Role::Default),
    ("show_name", Kind::Ident, 9.0, Role::Default),
    // A tag holds the name again, and an SWR path the tag: they index what they add (see
    // `BASES` and `analyze::RestTokenizer`); a word of the name is found in the name.
    ("tag", Kind::Ident, 8.0, Role::Secondary),
    ("namespace", Kind::Ident, 7.0, Role::Secondary),
    ("swr_path", Kind::Ident, 6.0, Role::Secondary),
    // The SDK's `tags` (a list of `{key, value}`): each key and value, `tags:team`, `tags:ai`.
    ("tags", Kind::Ident, 5.0, Role::Secondary),
    ("description", Kind::Text, 4.0, Role::Default),
];

/// The fields indexed by what they add to another: (field, base). A tag holds the name, and a
/// path holds the tag.
const BASES: &[(&str, &str)] = &[("tag", "name"), ("swr_path", "tag")];

fn base_of(field: &str) -> Option<&'static str> {
    BASES.iter().find(|(f, _)| *f == field).map(|(_, b)| *b)
}

/// How a text field is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Plain words and `field:` both look it up, typos included.
    Default,
    /// Plain words and `field:` both look it up; typos only when it is asked for by name
    /// (build stamps, hashes and registry paths are not typed from memory).
    Secondary,
    /// Plain words look it up, without typos; not a field users name.
    Hidden,
}

/// The fast field the index is sorted by, so that hits of equal score come in its order (the
/// collector breaks ties by document id): shorter names first, as BM25 would, then by name.
pub const NAME_RANK: &str = "name_rank";

/// [`NAME_RANK`] of a name: its length in characters (capped at 255) in the top byte, then the
/// first 7 bytes of the lowercased name, so numbers order like (length, name).
pub fn name_rank(name: &str) -> u64 {
    let mut b = [0u8; 8];
    b[0] = name.chars().count().min(255) as u8;
    for (slot, byte) in b[1..].iter_mut().zip(name.to_lowercase().bytes()) {
        *slot = byte;
    }
    u64::from_be_bytes(b)
}

/// The fast fields that order equal matches (the contract's ties): [`RECENCY`] (ACTIVE
/// first, then the newer `create_at`), [`UPDATED`] (the newer `update_at`), [`ID_RANK`] (the
/// id's first bytes); each ranks higher when larger. The full id, then the scope, finish the
/// order once hits are read.
pub const RECENCY: &str = "recency";
pub const UPDATED: &str = "updated";
pub const ID_RANK: &str = "id_rank";

/// [`RECENCY`] of an image: ACTIVE in the top bit, then `create_at` (a missing or negative
/// one is the oldest).
pub fn recency(status: Option<&str>, create_at: Option<i64>) -> u64 {
    let active = status.is_some_and(|s| s.eq_ignore_ascii_case("ACTIVE"));
    (u64::from(active) << 63) | (create_at.unwrap_or(0).max(0) as u64 & (u64::MAX >> 1))
}

/// [`UPDATED`] of an image: `update_at` (a missing or negative one is the oldest).
pub fn updated(update_at: Option<i64>) -> u64 {
    update_at.unwrap_or(0).max(0) as u64
}

/// [`ID_RANK`] of an id: its first 8 bytes, big-endian, so numbers order like the ids.
pub fn id_rank(id: &str) -> u64 {
    let mut b = [0u8; 8];
    for (slot, byte) in b.iter_mut().zip(id.bytes()) {
        *slot = byte;
    }
    u64::from_be_bytes(b)
}

/// How the index keeps its documents: by [`NAME_RANK`].
pub fn settings() -> IndexSettings {
    IndexSettings {
        sort_by_field: Some(IndexSortByField {
            field: NAME_RANK.to_string(),
            order: Order::Asc,
        }),
        ..IndexSettings::default()
    }
}

/// The hidden field holding the first word of the name.
pub const NAME_HEAD: &str = "name_head";

/// The text and enum fields a hit shows, read back from the index's document store (the others
/// are only searched: storing them cost every build).
const SHOWN: &[&str] = &[
    "name",
    "tag",
    "namespace",
    "swr_path",
    "description",
    "arch",
    "type",
    "service_type",
    "status",
];

/// Enum fields: (query name, schema name).
const ENUM_FIELDS: &[(&str, &str)] = &[
    ("arch", "arch"),
    ("type", "type"),
    ("service_type", "service_type"),
    ("status", "status"),
    ("visibility", "visibility"),
    ("category", "resource_categories"),
    ("dev_service", "dev_services"),
    ("flavor_type", "flavor_type"),
    ("origin", "origin"),
];

/// Other spellings accepted for field names in queries.
pub fn canonical_field_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "resource_categories" | "resource_category" | "categories" => "category".into(),
        "dev_services" => "dev_service".into(),
        "image_type" => "type".into(),
        "id" | "image_id" => "id".into(),
        _ => lower,
    }
}

pub fn schema() -> Schema {
    let mut b = Schema::builder();
    let u64_opts = NumericOptions::default()
        .set_indexed()
        .set_fast()
        .set_stored();
    // Only looked up, to replace a version's document when the version ends.
    b.add_u64_field("version_id", NumericOptions::default().set_indexed());
    // Indexed too: `serve` searches the scopes of one project, and a first build whose walk
    // starts a scope over deletes what it indexed of that scope.
    b.add_u64_field("scope_id", u64_opts.clone());
    b.add_text_field("image_id", STRING | STORED);
    b.add_u64_field("valid_from", u64_opts.clone());
    b.add_u64_field("valid_to", u64_opts);
    for (name, kind, _, _) in TEXT_FIELDS {
        let tokenizer = match kind {
            _ if base_of(name).is_some() => analyze::REST,
            Kind::Ident => analyze::IDENT,
            Kind::Text => analyze::TEXT,
        };
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let opts = if SHOWN.contains(name) {
            opts.set_stored()
        } else {
            opts
        };
        b.add_text_field(name, opts);
    }
    b.add_text_field(
        "name_exact",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyze::ENUM)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        ),
    );
    b.add_u64_field(NAME_RANK, FAST);
    for name in [RECENCY, UPDATED, ID_RANK] {
        b.add_u64_field(name, FAST);
    }
    for (_, name) in ENUM_FIELDS {
        let opts = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analyze::ENUM)
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
            .set_fast(analyze::ENUM);
        let opts = if SHOWN.contains(name) {
            opts.set_stored()
        } else {
            opts
        };
        b.add_text_field(name, opts);
    }
    b.build()
}

/// Registers the analyzers the schema names (they are code, not stored in the index).
pub fn register_tokenizers(index: &Index) {
    index
        .tokenizers()
        .register(analyze::IDENT, analyze::ident_analyzer());
    index
        .tokenizers()
        .register(analyze::TEXT, analyze::text_analyzer());
    index
        .tokenizers()
        .register(analyze::ENUM, analyze::enum_analyzer());
    index.tokenizers().register(
        analyze::REST,
        TextAnalyzer::builder(analyze::RestTokenizer::default()).build(),
    );
    index
        .fast_field_tokenizer()
        .register(analyze::ENUM, analyze::enum_analyzer());
}

impl Fields {
    pub fn new(schema: &Schema) -> tantivy::Result<Fields> {
        let f = |n: &str| schema.get_field(n);
        let text = TEXT_FIELDS
            .iter()
            .map(|(field_name, kind, weight, role)| {
                Ok(TextField {
                    name: field_name,
                    field: f(field_name)?,
                    kind: *kind,
                    weight: *weight,
                    role: *role,
                    base: base_of(field_name).map(f).transpose()?,
                })
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        let enums = ENUM_FIELDS
            .iter()
            .map(|(q, name)| {
                Ok(EnumField {
                    name: q,
                    field: f(name)?,
                })
            })
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Fields {
            version_id: f("version_id")?,
            scope_id: f("scope_id")?,
            image_id: f("image_id")?,
            valid_from: f("valid_from")?,
            valid_to: f("valid_to")?,
            name: f("name")?,
            name_head: f(NAME_HEAD)?,
            name_rank: f(NAME_RANK)?,
            recency: f(RECENCY)?,
            updated: f(UPDATED)?,
            id_rank: f(ID_RANK)?,
            name_exact: f("name_exact")?,
            tag: f("tag")?,
            show_name: f("show_name")?,
            description: f("description")?,
            swr_path: f("swr_path")?,
            namespace: f("namespace")?,
            arch: f("arch")?,
            service_type: f("service_type")?,
            image_type: f("type")?,
            status: f("status")?,
            category: f("resource_categories")?,
            dev_service: f("dev_services")?,
            visibility: f("visibility")?,
            flavor_type: f("flavor_type")?,
            origin: f("origin")?,
            text,
            enums,
        })
    }

    /// The fields a word without `field:` is looked up in.
    pub fn default_text(&self) -> Vec<TextField> {
        self.text.clone()
    }

    pub fn text_field(&self, name: &str) -> Option<TextField> {
        self.text.iter().find(|t| t.name == name).copied()
    }

    pub fn enum_field(&self, name: &str) -> Option<EnumField> {
        self.enums.iter().find(|e| e.name == name).copied()
    }

    /// The document for one version of an image.
    pub fn document(&self, v: &IndexedVersion) -> TantivyDocument {
        let image: Image = serde_json::from_str(&v.raw).unwrap_or_else(|_| Image {
            id: v.image_id.clone(),
            ..Image::default()
        });
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.version_id, v.version_id as u64);
        doc.add_u64(self.scope_id, v.scope_id as u64);
        doc.add_text(self.image_id, &v.image_id);
        doc.add_u64(self.valid_from, v.valid_from as u64);
        doc.add_u64(self.valid_to, v.valid_to.map_or(LIVE, |t| t as u64));
        let name = image.name.as_deref().unwrap_or("");
        doc.add_u64(self.name_rank, name_rank(name));
        doc.add_u64(
            self.recency,
            recency(image.status.as_deref(), image.create_at),
        );
        doc.add_u64(self.updated, updated(image.update_at));
        doc.add_u64(self.id_rank, id_rank(&v.image_id));
        let mut text = |field: Field, value: &Option<String>| {
            if let Some(s) = value.as_deref().filter(|s| !s.is_empty()) {
                doc.add_text(field, s);
            }
        };
        text(self.name, &image.name);
        text(self.name_head, &image.name.as_deref().and_then(first_word));
        text(self.name_exact, &image.name);
        text(self.show_name, &image.show_name);
        text(self.show_name, &image.show_tag);
        text(self.description, &image.description);
        text(self.namespace, &image.namespace);
        text(self.arch, &image.arch);
        text(self.service_type, &image.service_type);
        text(self.image_type, &image.image_type);
        text(self.status, &image.status);
        text(self.visibility, &image.visibility);
        text(self.flavor_type, &image.flavor_type);
        text(self.origin, &image.origin);
        if let Some(tags) = self.text_field("tags") {
            for t in image.tags.iter().flatten() {
                for part in [&t.key, &t.value] {
                    text(tags.field, part);
                }
            }
        }
        for c in image.resource_categories.iter().flatten() {
            text(self.category, &Some(c.clone()));
        }
        for d in image.dev_services.iter().flatten() {
            text(self.dev_service, &Some(d.clone()));
        }
        let tag = image.tag.as_deref().unwrap_or("");
        for (field, base, value) in [
            (self.tag, name, &image.tag),
            (self.swr_path, tag, &image.swr_path),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                doc.add_text(field, analyze::with_base(base, v));
            }
        }
        doc
    }
}

/// The first word of a name, as the analysis cuts words (`None` when it starts with CJK text).
fn first_word(name: &str) -> Option<String> {
    match analyze::pieces(name).into_iter().next()? {
        analyze::Piece::Word { from, to, .. } => Some(name[from..to].to_string()),
        analyze::Piece::Cjk { .. } => None,
    }
}
