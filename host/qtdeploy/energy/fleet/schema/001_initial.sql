-- qtdeploy fleet energy schema, version 1: logs, the chunk ledger, samples and events.
-- Applied by qtdeploy.energy.fleet.schema in one transaction; never edit a released file,
-- add the next NNN_*.sql instead (the migration path).

CREATE TABLE qtd_schema_version (
    version     integer PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    applied_by  text NOT NULL
);

-- One row per log directory (one gateway's `energy log --out`), found by its log_id.
CREATE TABLE qtd_logs (
    log_key       serial PRIMARY KEY,
    log_id        text NOT NULL UNIQUE,
    board         text NOT NULL,          -- the board's name in the fleet (push --board)
    origin        text NOT NULL,          -- simulated | measured
    rails         text[] NOT NULL,
    total_rails   text[] NOT NULL,
    rate_hz       integer NOT NULL,
    sample_power  text NOT NULL,
    meta          jsonb NOT NULL,         -- the log's meta.json as it was
    first_pushed  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qtd_logs_board ON qtd_logs (board);

-- The ledger: a chunk is in the database exactly when its row is here. Inserted in the same
-- transaction as the chunk's samples or events, so a retried chunk finds its row and adds
-- nothing; sha256 is the manifest's, so a different chunk under the same seq is refused.
CREATE TABLE qtd_chunks (
    log_key    integer NOT NULL REFERENCES qtd_logs,
    seq        integer NOT NULL,
    file       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('samples', 'events')),
    session    integer NOT NULL,
    rows       integer NOT NULL,
    sha256     text NOT NULL,
    t_first    double precision NOT NULL,
    t_last     double precision NOT NULL,
    pushed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_key, seq)
);

-- One row per sample: the log's columns, the rails as arrays in qtd_logs.rails order.
-- Appended in time order by every gateway, so a BRIN index on time stays small (a few pages
-- per million rows) and narrows a time range to the blocks written then.
CREATE TABLE qtd_samples (
    log_key  integer NOT NULL,
    session  integer NOT NULL,
    chunk    integer NOT NULL,
    t_s      double precision NOT NULL,   -- board clock
    unix_s   double precision NOT NULL,   -- host clock
    v        double precision[] NOT NULL,
    ma       double precision[] NOT NULL,
    mw       double precision[] NOT NULL
);
CREATE INDEX qtd_samples_time ON qtd_samples USING brin (unix_s);

-- Sessions (restarts), gaps, inferences with the board's energy, markers, bench results.
CREATE TABLE qtd_events (
    log_key     integer NOT NULL,
    session     integer NOT NULL,
    chunk       integer NOT NULL,
    t_s         double precision NOT NULL,
    unix_s      double precision NOT NULL,
    kind        text NOT NULL,
    duration_s  double precision,
    energy_mj   double precision,
    detail      text NOT NULL
);
CREATE INDEX qtd_events_log_time ON qtd_events (log_key, unix_s);
