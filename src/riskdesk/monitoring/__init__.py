"""Monitoring and early warning: customer behaviour features, anomaly scores, analysts' rules (issue 6).

The modules here are the pure cores — no database, no web: ``vocabulary`` (what a rule may read), ``rules``
(compiling, evaluating and backtesting rules), ``indicators`` (the built-in rules), ``windows`` (behaviour features
kept incrementally) and ``anomaly`` (how unusual a transaction is for its customer).
"""
