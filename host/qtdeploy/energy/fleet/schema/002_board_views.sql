-- Version 2: views with the board's name and a timestamptz, for people querying with SQL
-- (Grafana, psql); and an index for the fleet report's per-kind event scans.

CREATE VIEW qtd_samples_v AS
    SELECT l.board, l.origin, s.log_key, s.session, to_timestamp(s.unix_s) AS ts, s.t_s, s.unix_s,
           l.rails, s.v, s.ma, s.mw
    FROM qtd_samples s JOIN qtd_logs l USING (log_key);

CREATE VIEW qtd_events_v AS
    SELECT l.board, l.origin, e.log_key, e.session, to_timestamp(e.unix_s) AS ts, e.t_s, e.unix_s,
           e.kind, e.duration_s, e.energy_mj, e.detail
    FROM qtd_events e JOIN qtd_logs l USING (log_key);

CREATE INDEX qtd_events_kind_time ON qtd_events (kind, unix_s);
