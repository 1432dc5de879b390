"""Fleet energy logs: many gateways' local logs into one PostgreSQL, each chunk exactly once.

How the parts fit
-----------------
- ``chunks``: a log's committed chunks, read incrementally from its manifest and verified
  (SHA-256) one by one; damage is reported, never pushed.
- ``push``: ``LogPusher`` ships the chunks the database lacks, a batch of chunks per
  transaction, each chunk's ledger row (``qtd_chunks``) in the same transaction as its rows.
- ``continuous``: ``energy log --push``, a thread pushing while the logger writes.
- ``db``: connecting, typed errors (unreachable, login refused, schema), and the schema's
  versions and migrations (``schema/NNN_*.sql``).
- ``report`` and ``plots``: ``energy report --from``, per board and for the fleet.
- ``localserver``: a throwaway PostgreSQL on loopback (tests, bench, trying it out);
  ``loadgen``: a virtual gateway process for the load test and bench.

psycopg (the ``fleet`` extra) is imported only inside functions that talk to the server.
"""
