-- The macat mirror schema: the one definition of the database.
--
-- The file is a list of migrations, each opened by a line "-- migration N: what it does".
-- A database's `PRAGMA user_version` is the number of the last migration applied to it; opening
-- a database applies the ones after it, each in its own transaction. Migrations are append-only:
-- once one has shipped it is never edited; a change to the schema is a new migration at the end.
--
-- Model: a *scope* is one walk target (endpoint, project, workspace, image type, namespace
-- filter). A *run* is one `macat sync`; a committed run is one atomic snapshot of its scopes.
-- History is stored as *versions*: each distinct content of an image in a scope is one row,
-- live from run `valid_from` (inclusive) until run `valid_to` (exclusive; NULL while it is
-- still in the catalog). An unchanged image costs nothing in a new run. The catalog as of
-- committed run R is every version with valid_from <= R < coalesce(valid_to, infinity).

-- migration 1: scopes, runs, versions and the change log
CREATE TABLE scopes (
    id           INTEGER PRIMARY KEY,
    endpoint     TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    type         TEXT NOT NULL,
    -- '' when the walk was not restricted to one SWR organization
    namespace    TEXT NOT NULL DEFAULT '',
    UNIQUE (endpoint, project_id, workspace_id, type, namespace)
);

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    -- Unix milliseconds, UTC
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT NOT NULL CHECK (status IN ('running', 'committed', 'failed')),
    error       TEXT,
    pages       INTEGER NOT NULL DEFAULT 0,
    seen        INTEGER NOT NULL DEFAULT 0,
    added       INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE run_scopes (
    run_id   INTEGER NOT NULL REFERENCES runs (id),
    scope_id INTEGER NOT NULL REFERENCES scopes (id),
    PRIMARY KEY (run_id, scope_id)
) WITHOUT ROWID;

CREATE TABLE versions (
    id         INTEGER PRIMARY KEY,
    scope_id   INTEGER NOT NULL REFERENCES scopes (id),
    image_id   TEXT NOT NULL,
    valid_from INTEGER NOT NULL REFERENCES runs (id),
    valid_to   INTEGER REFERENCES runs (id),
    -- first 16 bytes of SHA-256 over `raw`
    hash       BLOB NOT NULL,
    -- the object exactly as the API returned it (unknown fields kept), as canonical JSON
    raw        TEXT NOT NULL
);
CREATE UNIQUE INDEX versions_by_image ON versions (scope_id, image_id, valid_from);
CREATE INDEX versions_live ON versions (scope_id, image_id) WHERE valid_to IS NULL;
CREATE INDEX versions_by_end ON versions (valid_to) WHERE valid_to IS NOT NULL;

CREATE TABLE changes (
    run_id   INTEGER NOT NULL REFERENCES runs (id),
    scope_id INTEGER NOT NULL REFERENCES scopes (id),
    image_id TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('added', 'changed', 'removed')),
    -- JSON array of the top-level fields that differ (present on one side only counts), for 'changed'
    fields   TEXT,
    PRIMARY KEY (run_id, scope_id, image_id)
) WITHOUT ROWID;

-- migration 2: name and tag beside each version, for lookups by name and name:tag
ALTER TABLE versions ADD COLUMN name TEXT;
ALTER TABLE versions ADD COLUMN tag TEXT;
UPDATE versions SET name = json_extract(raw, '$.name'), tag = json_extract(raw, '$.tag');
CREATE INDEX versions_by_name ON versions (name, tag);

-- migration 3: a smaller mirror. Name and tag are read from the stored object instead of being
-- kept twice, and live versions are found through versions_by_image (scope_id is its prefix), so
-- the two indexes that duplicated them go. This cuts the mirror by about a fifth.
DROP INDEX versions_by_name;
ALTER TABLE versions DROP COLUMN name;
ALTER TABLE versions DROP COLUMN tag;
DROP INDEX versions_live;

-- migration 4: versions by the run they start in, so a diff between any two runs reads only
-- the versions that started or ended between them (versions_by_end covers the ends)
CREATE INDEX versions_by_start ON versions (valid_from);

-- migration 5: an image is identified by project, workspace and type, not by the URL it was
-- fetched from: the same catalog synced through another endpoint spelling (or from another
-- host serving it) must update the same images, not copy them. Each run records the endpoint
-- it used and the namespace its walk was limited to (a namespace walk is a partial walk of the
-- scope: it can update and remove only that namespace's images). New scopes keep namespace ''.
ALTER TABLE run_scopes ADD COLUMN endpoint TEXT;
ALTER TABLE run_scopes ADD COLUMN namespace TEXT NOT NULL DEFAULT '';
UPDATE run_scopes SET
    endpoint = (SELECT s.endpoint FROM scopes s WHERE s.id = run_scopes.scope_id),
    namespace = (SELECT s.namespace FROM scopes s WHERE s.id = run_scopes.scope_id);
CREATE INDEX scopes_by_identity ON scopes (project_id, workspace_id, type, namespace);

-- migration 6: watches (saved searches that notify) and their events, an outbox. A watch is
-- checked run by run: `checked_through` is the committed run it has been compared up to, and
-- each check writes its event (when something changed) and moves `checked_through` in one
-- transaction, so a crash anywhere leaves either both or neither: the next check resumes at
-- the first run not yet checked, and UNIQUE (watch_id, run_id) refuses a second event. The
-- webhook secret is not here: only the path of the file that holds it.
CREATE TABLE watches (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    query           TEXT NOT NULL,
    -- JSON object of the search filters, e.g. {"arch": "aarch64"}
    filters         TEXT NOT NULL DEFAULT '{}',
    webhook         TEXT,
    secret_file     TEXT,
    insecure_http   INTEGER NOT NULL DEFAULT 0,
    -- Unix milliseconds, UTC
    created_at      INTEGER NOT NULL,
    -- NULL until the mirror has a committed run (then the first check is a baseline)
    checked_through INTEGER REFERENCES runs (id)
);

CREATE TABLE watch_events (
    -- creation order: pending events go out oldest first
    seq          INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,
    watch_id     INTEGER NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    from_run     INTEGER NOT NULL REFERENCES runs (id),
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    added        INTEGER NOT NULL,
    changed      INTEGER NOT NULL,
    removed      INTEGER NOT NULL,
    -- the exact bytes POSTed (and signed) on every attempt
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    UNIQUE (watch_id, run_id)
);

-- migration 7: the API's query answered by indexes. `list` and `serve` filter, sort and page
-- on these columns instead of parsing every stored object; they hold exactly what the typed
-- view of an image (`api::types::Image`) reads from `raw`, in the form `catalog::Query` compares:
-- enums upper-cased (ASCII, as its case-insensitive compare), a missing workspace_id as "0",
-- numbers only when they are integers that fit 64 bits (any other number is no value). The
-- columns are virtual: only the indexes store them, so the table does not grow.
ALTER TABLE versions ADD COLUMN q_type TEXT
    GENERATED ALWAYS AS (upper(json_extract(raw, '$.type'))) VIRTUAL;
ALTER TABLE versions ADD COLUMN q_workspace_id TEXT
    GENERATED ALWAYS AS (coalesce(json_extract(raw, '$.workspace_id'), '0')) VIRTUAL;
ALTER TABLE versions ADD COLUMN q_name TEXT
    GENERATED ALWAYS AS (json_extract(raw, '$.name')) VIRTUAL;
ALTER TABLE versions ADD COLUMN q_tag TEXT
    GENERATED ALWAYS AS (json_extract(raw, '$.tag')) VIRTUAL;
ALTER TABLE versions ADD COLUMN q_namespace TEXT
    GENERATED ALWAYS AS (json_extract(raw, '$.namespace')) VIRTUAL;
ALTER TABLE versions ADD COLUMN q_service_type TEXT
    GENERATED ALWAYS AS (upper(json_extract(raw, '$.service_type'))) VIRTUAL;
ALTER TABLE versions ADD COLUMN q_create_at INTEGER
    GENERATED ALWAYS AS (CASE WHEN typeof(json_extract(raw, '$.create_at')) = 'integer'
                         THEN json_extract(raw, '$.create_at') END) VIRTUAL;
ALTER TABLE versions ADD COLUMN q_update_at INTEGER
    GENERATED ALWAYS AS (CASE WHEN typeof(json_extract(raw, '$.update_at')) = 'integer'
                         THEN json_extract(raw, '$.update_at') END) VIRTUAL;
-- The default listing (newest first) with every filter column beside it, so a filtered count
-- reads only this index.
CREATE INDEX versions_q_created ON versions (q_type, q_workspace_id, q_create_at, valid_from,
    valid_to, q_namespace, q_service_type, q_name, scope_id, image_id);
CREATE INDEX versions_q_updated ON versions (q_type, q_workspace_id, q_update_at, valid_from,
    valid_to, scope_id, image_id);
-- By name (and tag): exact names, `--sort-key name`, and `show NAME[:TAG]`, `history NAME:TAG`.
CREATE INDEX versions_q_name ON versions (q_name, q_tag, valid_from, valid_to, q_type,
    q_workspace_id, scope_id, image_id);

-- migration 8: the query's keys in a table of their own, so that counting and paging a filtered
-- listing reads one narrow b-tree and never the stored objects. SQLite reads the table row
-- beside an index on virtual columns (migration 7's indexes were not covering: a filtered count
-- of 10^5 images took 0.22 s, reading every candidate's object), and those indexes cost half
-- the size of the objects. `version_keys` holds migration 7's columns for every version,
-- clustered on the default listing (type, workspace, create time) and indexed by name;
-- triggers keep it equal to `versions`, whoever writes.
DROP INDEX versions_q_created;
DROP INDEX versions_q_updated;
DROP INDEX versions_q_name;
CREATE TABLE version_keys (
    -- X'00' (equal to no text) when the object has no type
    q_type           NOT NULL,
    q_workspace_id   NOT NULL,
    -- the create time split so that the key holds no NULL: (0, 0) when the object has none
    -- (SQLite orders NULL first), (1, the time) otherwise
    q_has_create_at  INTEGER NOT NULL,
    q_create_at      INTEGER NOT NULL,
    -- versions.id
    version_id       INTEGER NOT NULL,
    valid_from       INTEGER NOT NULL,
    valid_to         INTEGER,
    q_namespace,
    q_service_type,
    q_name,
    q_update_at      INTEGER,
    scope_id         INTEGER NOT NULL,
    image_id         TEXT NOT NULL,
    -- versions.hash: a sync compares each image it walks with its live version's hash, read here
    -- (a tenth of the bytes of versions)
    hash             BLOB NOT NULL,
    PRIMARY KEY (q_type, q_workspace_id, q_has_create_at, q_create_at, version_id)
) WITHOUT ROWID;
-- What version_keys must hold, computed from versions (the bulk fills and `macat check` read it).
CREATE VIEW version_keys_of AS
    SELECT coalesce(q_type, X'00') AS q_type, q_workspace_id,
           q_create_at IS NOT NULL AS q_has_create_at, coalesce(q_create_at, 0) AS q_create_at,
           id AS version_id, valid_from, valid_to, q_namespace, q_service_type, q_name,
           q_update_at, scope_id, image_id, hash
    FROM versions;
INSERT INTO version_keys SELECT * FROM version_keys_of ORDER BY 1, 2, 3, 4, 5;
CREATE INDEX version_keys_by_name ON version_keys (q_name);
-- Holds a row while a mirror's first run writes: the triggers then leave version_keys alone and
-- the run fills it at once, in key order, before it commits. Inserted one by one in random key
-- order, the keys of 10^6 images outgrow the page cache and most pages are written many times.
CREATE TABLE version_keys_deferred (run_id INTEGER NOT NULL);
CREATE TRIGGER version_keys_insert AFTER INSERT ON versions
WHEN NOT EXISTS (SELECT 1 FROM version_keys_deferred)
BEGIN
    INSERT INTO version_keys VALUES (coalesce(NEW.q_type, X'00'), NEW.q_workspace_id,
        NEW.q_create_at IS NOT NULL, coalesce(NEW.q_create_at, 0), NEW.id, NEW.valid_from,
        NEW.valid_to, NEW.q_namespace, NEW.q_service_type, NEW.q_name, NEW.q_update_at,
        NEW.scope_id, NEW.image_id, NEW.hash);
END;
CREATE TRIGGER version_keys_delete AFTER DELETE ON versions
WHEN NOT EXISTS (SELECT 1 FROM version_keys_deferred)
BEGIN
    DELETE FROM version_keys WHERE q_type = coalesce(OLD.q_type, X'00')
        AND q_workspace_id = OLD.q_workspace_id AND q_has_create_at = (OLD.q_create_at IS NOT NULL)
        AND q_create_at = coalesce(OLD.q_create_at, 0) AND version_id = OLD.id;
END;
-- A version's object never changes, its run range does (valid_to is set when it ends): that
-- update touches two columns in place. Any other update replaces the version's keys.
CREATE TRIGGER version_keys_range AFTER UPDATE OF valid_from, valid_to ON versions
WHEN OLD.id IS NEW.id AND OLD.raw IS NEW.raw AND OLD.hash IS NEW.hash
    AND OLD.scope_id IS NEW.scope_id AND OLD.image_id IS NEW.image_id AND NOT EXISTS (SELECT 1 FROM version_keys_deferred)
BEGIN
    UPDATE version_keys SET valid_from = NEW.valid_from, valid_to = NEW.valid_to
    WHERE q_type = coalesce(NEW.q_type, X'00') AND q_workspace_id = NEW.q_workspace_id
        AND q_has_create_at = (NEW.q_create_at IS NOT NULL)
        AND q_create_at = coalesce(NEW.q_create_at, 0) AND version_id = NEW.id;
END;
CREATE TRIGGER version_keys_replace AFTER UPDATE OF id, scope_id, image_id, hash, raw ON versions
WHEN NOT EXISTS (SELECT 1 FROM version_keys_deferred)
BEGIN
    DELETE FROM version_keys WHERE q_type = coalesce(OLD.q_type, X'00')
        AND q_workspace_id = OLD.q_workspace_id AND q_has_create_at = (OLD.q_create_at IS NOT NULL)
        AND q_create_at = coalesce(OLD.q_create_at, 0) AND version_id = OLD.id;
    INSERT INTO version_keys VALUES (coalesce(NEW.q_type, X'00'), NEW.q_workspace_id,
        NEW.q_create_at IS NOT NULL, coalesce(NEW.q_create_at, 0), NEW.id, NEW.valid_from,
        NEW.valid_to, NEW.q_namespace, NEW.q_service_type, NEW.q_name, NEW.q_update_at,
        NEW.scope_id, NEW.image_id, NEW.hash);
END;
