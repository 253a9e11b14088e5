"""JSON Lines as every import reads them: one object a line, each bad line an error with its number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from riskdesk.errors import ErrorDetail


def objects(text: str) -> Iterator[tuple[int, dict[str, Any] | ErrorDetail]]:
    # Only "\n" ends a line: str.splitlines() also splits on U+2028 and others that JSON strings may hold.
    for line, raw in enumerate((part.removesuffix("\r") for part in text.split("\n")), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, ErrorDetail(None, f"not valid JSON: {exc.msg} at column {exc.colno}", line)
            continue
        if not isinstance(record, dict):
            yield line, ErrorDetail(None, "each line must be one JSON object", line)
            continue
        yield line, record
