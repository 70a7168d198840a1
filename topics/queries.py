"""Batch query lists: turning the lines of a query file into queries, and answering each on its own.

A query is a text (str) or a mapping with exactly one of ``id`` or ``text``. A query file holds one
query per line, either as JSON Lines (``{"id": "lee-00"}``, ``{"text": "..."}`` or a JSON string) or as
plain lines, each a stored article id or a text. Blank lines are skipped; lines keep the numbers they
have in the file. A line that is not a query, or a query the model cannot answer, is reported with
its line number and never stops the others (:func:`parse_query_lines`, :func:`answer_queries`).
"""

from __future__ import annotations

import json

from .errors import QueryError

INPUT_FORMATS = ("auto", "jsonl", "ids", "texts")


def parse_queries(lines, *, input_format: str = "auto", known_id=None) -> list[tuple[int, object]]:
    """``(line number, query)`` for every non-blank line, in order; QueryError naming the first bad line.

    input_format : "jsonl", "ids", "texts", or "auto": JSON Lines when the first non-blank line starts
        with ``{`` or ``"``, otherwise each line is an id when ``known_id(line)`` is true and a text if not.
    known_id : callable(str) -> bool, needed for "auto" on plain lines.
    """
    numbered = parse_query_lines(enumerate(lines, 1), input_format=input_format, known_id=known_id)
    for _, query in numbered:
        if isinstance(query, QueryError):
            raise query
    return numbered


def parse_query_lines(numbered, *, input_format: str = "auto", known_id=None) -> list[tuple[int, object]]:
    """``(line number, query or QueryError)`` for every non-blank ``(line number, text)`` pair.

    A text may instead be None with a reason, as :func:`topics.corpus.read_query_lines` gives for a line
    it cannot hand out (too long): ``(n, None, reason)``. Errors name their line: ``"line 3: ..."``.
    """
    if input_format not in INPUT_FORMATS:
        from .errors import ParameterError

        raise ParameterError(f"input_format={input_format!r} is not allowed; use one of {', '.join(INPUT_FORMATS)}")
    lines = []
    for item in numbered:
        n, line, reason = item if len(item) == 3 else (*item, None)
        if line is None:
            lines.append((n, QueryError(f"line {n}: {reason}")))
        elif line.strip():
            lines.append((n, line.strip()))
    if input_format == "auto":
        first = next((line for _, line in lines if isinstance(line, str)), "")
        input_format = "jsonl" if first[:1] in ("{", '"') else "mixed"
    return [(n, line if isinstance(line, QueryError) else _query(n, line, input_format, known_id)) for n, line in lines]


def _query(n: int, line: str, input_format: str, known_id):
    if input_format == "jsonl":
        return _json_query(n, line)
    if input_format == "ids":
        return {"id": line}
    if input_format == "texts":
        return line
    if known_id(line):
        return {"id": line}
    if _looks_like_id(line):
        return QueryError(
            f"line {n}: {line!r} looks like an article id, but the model has no such article "
            "(use --input texts to search it as text)"
        )
    return line


def _looks_like_id(line: str) -> bool:
    """One token with a digit or an id separator ("lee-bg-299", "news:12", "a/story"): a mistyped id is
    reported, not searched as a one-word text."""
    return not any(c.isspace() for c in line) and any(c.isdigit() or c in "-_:/." for c in line)


def _json_query(n: int, line: str):
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return QueryError(f"line {n}: not valid JSON ({exc.msg})")
    if isinstance(value, str) or (isinstance(value, dict) and len(value.keys() & {"id", "text"}) == 1):
        return value
    return QueryError(f'line {n}: a query is a JSON string or an object with exactly one of "id" or "text"')


def answer_queries(model, queries: list, *, k: int = 10, **filters) -> list:
    """For each query, its hits (a list of :class:`topics.model.Hit`) or the QueryError that stops it.

    ``model.similar_batch`` answers the queries together; when a query in a block cannot be answered the
    block is halved until that query stands alone, and it is then asked on its own with
    ``model.similar``, whose error names no position. Other errors (a bad filter) concern every query
    and are raised.
    """
    results: list = [None] * len(queries)

    def solve(positions):
        if not positions:
            return
        try:
            answers = model.similar_batch([queries[i] for i in positions], k=k, **filters)
        except QueryError:
            if len(positions) == 1:
                results[positions[0]] = _answer_one(model, queries[positions[0]], k, filters)
                return
            middle = len(positions) // 2
            solve(positions[:middle])
            solve(positions[middle:])
            return
        for i, hits in zip(positions, answers, strict=True):
            results[i] = hits

    solve(list(range(len(queries))))
    return results


def _answer_one(model, query, k: int, filters: dict):
    if isinstance(query, str):
        query = {"text": query}
    try:
        if not isinstance(query, dict) or len(query.keys() & {"id", "text"}) != 1:
            raise QueryError("a query is a text or a mapping with exactly one of 'id' or 'text'")
        return model.similar(**{key: query[key] for key in ("id", "text") if key in query}, k=k, **filters)
    except QueryError as exc:
        return exc
