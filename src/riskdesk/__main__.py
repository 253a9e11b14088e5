"""``python -m riskdesk``: the same commands as ``riskdesk`` (for workers started by a supervisor or a test)."""

from riskdesk.cli.main import app

app(prog_name="riskdesk")
