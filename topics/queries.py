"""Batch query lists: turning the lines of a query file into queries for `TopicModel.similar_batch`.

A query is a text (str) or a mapping with exactly one of ``id`` or ``text``. A query file holds one
query per line, either as JSON Lines (``{"id": "lee-00"}``, ``{"text": "..."}`` or a JSON string) or as
plain lines, each a stored article id or a text. Blank lines are skipped.
"""

from __future__ import annotations

import json

from .errors import QueryError

INPUT_FORMATS = ("auto", "jsonl", "ids", "texts")


def parse_queries(lines, *, input_format: str = "auto", known_id=None) -> list[tuple[int, object]]:
    """``(line number, query)`` for every non-blank line, in order.

    input_format : "jsonl", "ids", "texts", or "auto": JSON Lines when the first non-blank line starts
        with ``{`` or ``"``, otherwise each line is an id when ``known_id(line)`` is true and a text if not.
    known_id : callable(str) -> bool, needed for "auto" on plain lines.
    """
    if input_format not in INPUT_FORMATS:
        from .errors import ParameterError

        raise ParameterError(f"input_format={input_format!r} is not allowed; use one of {', '.join(INPUT_FORMATS)}")
    numbered = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    if input_format == "auto":
        input_format = "jsonl" if numbered and numbered[0][1][0] in "{\"" else "mixed"
    if input_format == "jsonl":
        return [(n, _json_query(n, line)) for n, line in numbered]
    if input_format == "ids":
        return [(n, {"id": line}) for n, line in numbered]
    if input_format == "texts":
        return [(n, line) for n, line in numbered]
    return [(n, {"id": line} if known_id(line) else line) for n, line in numbered]


def _json_query(n: int, line: str):
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise QueryError(f"line {n}: not valid JSON ({exc.msg})") from None
    if isinstance(value, str) or (isinstance(value, dict) and len(value.keys() & {"id", "text"}) == 1):
        return value
    raise QueryError(f"line {n}: a query is a JSON string or an object with exactly one of \"id\" or \"text\"")
