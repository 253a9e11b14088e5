"""Monitoring and early warning (issue 6): events in, customer behaviour kept, analysts' rules, alerts out.

Pure cores — ``vocabulary`` (what a rule may read), ``syntax`` and ``rules`` (compiling, evaluating and backtesting
rules in CEL), ``indicators`` (the built-in rules), ``windows`` (behaviour features kept incrementally), ``anomaly``
(how unusual a transaction is for its customer), ``validation`` (is an event well formed) — and, on the database,
``intake`` (idempotent batches, dead letters, state, rules, alerts) and ``service`` (stored rules, alerts, dead
letters), with ``api``, ``pages`` and ``cli`` at the edge.
"""
