"""What a model file's payload may hold, checked before any of it is used.

A file that passes its checksum (or even its signature, if the key leaked) is still only data someone
wrote: out-of-range sparse indices make scipy's C code read or write out of bounds, a self-referencing
list makes every later walk recurse forever, and a list of a list of the same list, forty deep, takes
2**40 steps to copy. :func:`check_payload` walks the unpickled payload once, iteratively and within a
budget, and then checks every array's dtype, shape and structure against the others:

- X (``doc_terms``, CSR), its postings (CSC) and the search matrix B (CSC, optional): shape (n, V) (B and
  its L: (n, V + R) with R sorted ``rare_words``, from format 5); ``indptr`` starts at 0, never decreases
  and ends at ``len(indices) == len(data)``; every index lies in [0, V) (X) or [0, n) (postings).
- W (``doc_topics``, n x k), H (``components``, k x V), ``idf`` (V,), ``vocabulary`` (V,) of bytes.
- The article table: each string column's offsets start at 0, never decrease, stay within its blob and
  never split a UTF-8 character; the blob is valid UTF-8; ``id_order`` is a permutation of the n rows.
- No object arrays, structured or non-native dtypes, or classes; ints of at most 64 bits.

B is checked when first used (:func:`check_search`, ``check_payload(..., search_later=True)``): a query by
id never reads it. Every failure is a ValueError naming the part at fault; :mod:`topics.store` turns it into a one-line
ModelFileError. Checks are vectorised, one pass over each array: the checksum has read the file anyway.
"""

from __future__ import annotations

import codecs
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .params import PARAMETER_RULES

MAX_DEPTH = 32
# Values walked at most, counted as a tree: a payload has at most one per byte, and real ones hold a few
# thousand outside their arrays (stop words, phrases, history); this cap keeps a huge padded file from
# buying minutes of walking.
MAX_VALUES = 20_000_000
# The fields of each `topics add` record that the footer repeats, so `topics info` shows the history
# without loading the model; they must be JSON values.
FOOTER_ADD_FIELDS = ("at", "n_added", "n_replaced", "n_articles", "error_ratio", "unknown_share", "refit_advised")
_JSON_SCALARS = (str, int, float, bool, type(None))
_ANALYZER_KEYS = {
    "stop_words",
    "ngram_max",
    "phrases",
    "clean",
    "repair",
    "spans",
    "boilerplate",
    "boilerplate_probes",
    "segment",
}
_SPAN_KEYS = {"windows", "probes", "spans"}
_LEAVES = (str, bytes, bool, float, type(None))


def check_plain(value, *, budget: int, max_depth: int = MAX_DEPTH) -> None:
    """Raise ValueError unless ``value`` is plain data (dicts with str keys, lists, tuples, sets, str,
    bytes, numbers, None, numeric ndarrays) nested at most ``max_depth`` deep, of at most ``budget``
    values counted as a tree (so shared containers count each time they are reached)."""
    stack, seen = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > budget:
            raise ValueError("it holds more values than its size allows (shared or self-referencing containers)")
        if isinstance(item, _LEAVES):
            continue
        if isinstance(item, int):
            if item.bit_length() > 64:
                raise ValueError("it holds an integer of more than 64 bits")
            continue
        if isinstance(item, np.ndarray):
            if type(item) not in (np.ndarray, np.memmap):
                raise ValueError(f"it holds an array of type {type(item).__name__}")
            _check_dtype(item.dtype)
            continue
        if isinstance(item, np.generic):
            _check_dtype(item.dtype)
            continue
        if type(item) not in (dict, list, tuple, set, frozenset):
            raise ValueError(f"it holds a {type(item).__name__}, which a topics model never holds")
        if depth >= max_depth:
            raise ValueError(f"it is nested deeper than {max_depth} levels (or refers to itself)")
        if type(item) is dict:
            if not all(type(k) is str for k in item):
                raise ValueError("it holds a mapping whose keys are not all strings")
            children = item.values()
        else:
            children = item
        stack.extend((child, depth + 1) for child in children)


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise ValueError("it holds an array of Python objects")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biufcSUMm":
        raise ValueError(f"it holds an array of dtype {dtype}")
    if not dtype.isnative:
        raise ValueError(f"it holds an array of non-native byte order ({dtype})")


def check_payload(payload, footer: dict, *, search_later: bool = False) -> None:
    """Raise ValueError unless ``payload`` is a well-formed topics model whose counts match ``footer``.

    With ``search_later``, the search matrix B (used by short text queries only, and as large as X) is
    left for :func:`check_search`, which the caller must pass before B is used: a query by id never
    reads B, so its process never pays for checking it.
    """
    if not isinstance(payload, dict) or payload.get("kind") != "topics-model":
        raise ValueError("not a topics model payload")
    check_plain(payload, budget=min(int(footer.get("payload_bytes") or 0) + 1024, MAX_VALUES))
    for name in ("params", "fit_info", "analyzer", "vectorizer", "doc_terms", "postings", "articles"):
        _need(isinstance(payload.get(name), dict), f"{name} is missing or not a mapping")
    H = _array(payload.get("components"), "components", 2, "f")
    k, v = H.shape
    articles = payload["articles"]
    n = _string_column(articles.get("ids"), "articles.ids", None)
    _need(n >= 1 and k >= 1 and v >= 1, f"it holds {n} articles, {k} topics and {v} terms")
    # The table's text is decoded (which holds the interpreter's lock) in a thread while numpy, which lets go
    # of it, reads the arrays: the two overlap on two cores.
    with ThreadPoolExecutor(1) as pool:
        text = pool.submit(_check_text, articles, n)
        _check_arrays(payload, n, k, v, search_later)
        text.result()
    dates = _array(articles.get("dates"), "articles.dates", 1, "M")
    _need(dates.dtype == np.dtype("datetime64[D]") and dates.shape == (n,), "articles.dates are malformed")
    order = _array(articles.get("id_order"), "articles.id_order", 1, "i")
    _need(
        order.shape == (n,)
        and (n == 0 or (order.min() >= 0 and order.max() < n))
        and bool(np.all(np.bincount(order, minlength=n) == 1)),
        "articles.id_order is not an order of the articles",
    )
    _check_settings(payload, k)
    counts = (footer.get("n_articles"), footer.get("n_topics"), footer.get("n_terms"))
    _need(counts == (n, k, v), "footer and contents disagree")


def search_columns(payload) -> int:
    """B's number of columns: the vocabulary's V, then the R rare words of topics.state.SearchFields
    (format 5)."""
    v = _array(payload.get("components"), "components", 2, "f").shape[1]
    if payload.get("rare_words") is None:
        return v
    return v + _array(payload["rare_words"], "rare_words", 1, "S").shape[0]


def check_search(search, n: int, b: int) -> None:
    """Raise ValueError unless ``search`` (a payload's ``search``: B, the BM25 matrix of topics.index, which
    older files lack) is a well-formed CSC matrix of shape (n, b)."""
    _need(isinstance(search, dict), "search is not a mapping")
    _sparse(search, "search", "csc", (n, b))


def _check_arrays(payload: dict, n: int, k: int, v: int, search_later: bool) -> None:
    """Check W, idf, the vocabulary and the sparse matrices of a payload of n articles, k topics and v terms."""
    W = _array(payload.get("doc_topics"), "doc_topics", 2, "f")
    _need(W.shape == (n, k), f"doc_topics has shape {W.shape}, not ({n}, {k})")
    idf = _array(payload.get("idf"), "idf", 1, "f")
    _need(idf.shape == (v,), f"idf has shape {idf.shape}, not ({v},)")
    vocabulary = _array(payload.get("vocabulary"), "vocabulary", 1, "S")
    _need(vocabulary.shape == (v,), f"vocabulary has {vocabulary.shape[0]} terms, not {v}")
    _need(_valid_terms(vocabulary), "vocabulary is not valid UTF-8")
    nnz = _sparse(payload["doc_terms"], "doc_terms", "csr", (n, v))
    _need(_sparse(payload["postings"], "postings", "csc", (n, v)) == nnz, "doc_terms and postings differ in size")
    b = search_columns(payload)
    if payload.get("rare_words") is not None:
        rare = payload["rare_words"]
        _need(_valid_terms(rare) and bool(np.all(rare[1:] > rare[:-1])), "rare_words are not sorted UTF-8 words")
    if payload.get("search") is not None and not search_later:  # the BM25 matrix of topics.index
        check_search(payload["search"], n, b)
    if payload.get("search_fields") is not None:  # L of topics.state.SearchFields; older files lack it
        _need(isinstance(payload["search_fields"], dict), "search_fields is not a mapping")
        _sparse(payload["search_fields"], "search_fields", "csr", (n, b))


def _check_text(articles: dict, n: int) -> None:
    """Check the table's text columns other than the ids (:func:`_string_column`)."""
    for name in ("titles", "snippets"):
        _string_column(articles.get(name), f"articles.{name}", n)
    if articles.get("sources") is not None:  # format 3: each article's source, when the archive names them
        _string_column(articles.get("sources"), "articles.sources", n)


def _need(condition, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _array(value, name: str, ndim: int, kinds: str, finite: bool = True) -> np.ndarray:
    _need(isinstance(value, np.ndarray), f"{name} is not an array")
    _need(value.ndim == ndim, f"{name} has {value.ndim} dimensions, not {ndim}")
    _need(value.dtype.kind in kinds, f"{name} has dtype {value.dtype}")
    # NaN and inf carry into a sum. Summed in the array's own type (float32 three times as fast as widened to
    # float64): a model's weights are at most a few dozen, so only values near float32's largest, which no
    # model holds, could overflow it, and such a file is refused as if it held infinite ones.
    if finite and value.dtype.kind == "f":
        _need(bool(np.isfinite(np.sum(value))), f"{name} holds NaN or infinite values")
    return value


def _sparse(d: dict, name: str, fmt: str, shape: tuple) -> int:
    """Check a saved sparse matrix; return its number of stored values."""
    _need(d.get("format") == fmt, f"{name} is not in {fmt} form")
    _need(tuple(d.get("shape") or ()) == shape, f"{name} has shape {d.get('shape')}, not {shape}")
    data = _array(d.get("data"), f"{name}.data", 1, "f")
    indices = _array(d.get("indices"), f"{name}.indices", 1, "i")
    indptr = _array(d.get("indptr"), f"{name}.indptr", 1, "i")
    _need(indices.dtype.itemsize in (4, 8) and indptr.dtype.itemsize in (4, 8), f"{name} has a bad index dtype")
    major, minor = (shape[0], shape[1]) if fmt == "csr" else (shape[1], shape[0])
    _need(len(indptr) == major + 1, f"{name}.indptr has {len(indptr)} entries, not {major + 1}")
    nnz = len(data)
    _need(len(indices) == nnz, f"{name} has {len(indices)} indices for {nnz} values")
    _need(indptr[0] == 0 and indptr[-1] == nnz, f"{name}.indptr does not span its values")
    _need(bool(np.all(indptr[1:] >= indptr[:-1])), f"{name}.indptr decreases")
    _need(nnz == 0 or _below(indices, minor), f"{name} has an index out of range")
    return nnz


def _below(indices: np.ndarray, bound: int) -> bool:
    """Whether every index lies in [0, bound), in one pass: read as unsigned, a negative index is larger than
    any bound."""
    return int(indices.view(np.dtype(f"u{indices.dtype.itemsize}")).max()) < bound


def _string_column(d, name: str, n: int | None) -> int:
    """Check a saved string column (see :class:`topics.table.StringColumn`); return its length."""
    _need(isinstance(d, dict), f"{name} is missing")
    blob = _array(d.get("blob"), f"{name}.blob", 1, "u")
    offsets = _array(d.get("offsets"), f"{name}.offsets", 1, "i")
    _need(blob.dtype == np.uint8 and offsets.dtype == np.int64 and len(offsets) >= 1, f"{name} has bad dtypes")
    size = len(offsets) - 1
    _need(n is None or size == n, f"{name} has {size} rows, not {n}")
    _need(
        offsets[0] == 0 and offsets[-1] <= len(blob) and bool(np.all(offsets[1:] >= offsets[:-1])),
        f"{name}.offsets do not fit its text",
    )
    inside = offsets[offsets < len(blob)]
    _need(not np.any((blob[inside] & 0xC0) == 0x80), f"{name} splits a UTF-8 character")
    _need(_valid_utf8(blob[: offsets[-1]]), f"{name} is not valid UTF-8")
    missing = d.get("missing")
    if missing is not None:
        _need(
            isinstance(missing, np.ndarray) and missing.dtype == bool and missing.shape == (size,),
            f"{name}.missing is malformed",
        )
    return size


def _valid_terms(vocabulary: np.ndarray) -> bool:
    """Whether every term decodes as UTF-8: the fixed-width cells, NUL-padded, are valid as one text
    and none starts with a continuation byte (so no character runs from one cell into the next)."""
    cells = np.ascontiguousarray(vocabulary).view(np.uint8).reshape(len(vocabulary), vocabulary.dtype.itemsize)
    return cells.shape[1] == 0 or (not np.any((cells[:, 0] & 0xC0) == 0x80) and _valid_utf8(cells.reshape(-1)))


def _valid_utf8(blob: np.ndarray, step: int = 1 << 20) -> bool:
    """Whether the bytes decode as UTF-8: in 1 MiB pieces, so no string of the whole blob is ever built
    (0.37 s for 200 MB of news text with curly quotes in every sentence; a pure-ASCII blob is one pass)."""
    if len(blob) == 0 or blob.max() < 0x80:
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(np.ascontiguousarray(blob))
    try:
        for start in range(0, len(blob), step):
            decoder.decode(view[start : start + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check_settings(payload: dict, k: int) -> None:
    for name, value in payload["params"].items():
        rule = PARAMETER_RULES.get(name)
        _need(rule is None or rule[0](value), f"params.{name} is not allowed")
    analyzer = payload["analyzer"]
    _need(
        set(analyzer) <= _ANALYZER_KEYS
        and analyzer.get("ngram_max", 2) in (1, 2)
        and isinstance(analyzer.get("clean", False), bool),
        "analyzer settings are malformed",
    )
    _need(isinstance(analyzer.get("repair", False), bool), "analyzer settings are malformed")
    _need(analyzer.get("segment") in (None, "zh", "ja"), "analyzer.segment is not allowed")
    for key in ("stop_words", "phrases", "boilerplate", "boilerplate_probes"):
        _need(_words(analyzer.get(key)), f"analyzer.{key} is not a list of words")
    spans = analyzer.get("spans")
    _need(
        spans is None
        or (
            isinstance(spans, dict)
            and set(spans) <= _SPAN_KEYS
            and _words(spans.get("windows"))
            and _words(spans.get("probes"))
            and _word_counts(spans.get("spans"))
        ),
        "analyzer.spans is malformed",
    )
    vector = payload["vectorizer"]
    rules = PARAMETER_RULES
    _need(
        rules["min_df"][0](vector.get("min_df"))
        and rules["max_df"][0](vector.get("max_df"))
        and rules["max_features"][0](vector.get("max_features"))
        and _is_count(vector.get("n_documents")),
        "vectorizer settings are malformed",
    )
    names = payload.get("topic_names", {})
    _need(
        isinstance(names, dict)
        and all(
            isinstance(t, str) and t.isascii() and t.isdigit() and int(t) < k and isinstance(s, str)
            for t, s in names.items()
        ),
        "topic_names are malformed",
    )
    _check_fit_info(payload["fit_info"])


def _check_fit_info(info: dict) -> None:
    """The fields that growing, evaluating and saving a model compute with, of types they can use."""

    def number(v):
        return v is None or (isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))

    def text(v):
        return v is None or isinstance(v, str)

    _need(
        all(number(info.get(k)) for k in ("n_articles", "relative_error", "unknown_share"))
        and text(info.get("created"))
        and text(info.get("topics_version")),
        "fit_info is malformed",
    )
    sources = info.get("sources", [])
    _need(isinstance(sources, list) and all(isinstance(p, str) for p in sources), "fit_info.sources is malformed")
    _need(
        _word_counts(info.get("formulae"))
        and all(_is_count(info.get(k, 0)) for k in ("n_stubs", "n_repaired"))
        and (
            info.get("source_terms") is None
            or (
                isinstance(info["source_terms"], dict)
                and all(isinstance(t, str) and isinstance(s, str) for t, s in info["source_terms"].items())
            )
        ),
        "fit_info clutter fields are malformed",
    )
    stubs = info.get("stubs")
    _need(
        stubs is None
        or (
            isinstance(stubs, dict)
            and _is_count(stubs.get("min_words"))
            and _is_count(stubs.get("n_adds"))
            and isinstance(stubs.get("rows"), list)
            and all(_is_count(r) and r < info.get("n_articles", 0) + _n_added(info) for r in stubs["rows"])
        ),
        "fit_info.stubs is malformed",
    )
    order = info.get("word_order")
    _need(
        order is None
        or (
            isinstance(order, list)
            and all(row is None or (isinstance(row, list) and all(_is_count(c) for c in row)) for row in order)
        ),
        "fit_info.word_order is malformed",
    )
    adds = info.get("adds", [])
    _need(
        isinstance(adds, list)
        and all(
            isinstance(a, dict)
            and _is_count(a.get("n_added"))
            and all(isinstance(a.get(k), _JSON_SCALARS) for k in FOOTER_ADD_FIELDS)
            for a in adds
        ),
        "fit_info.adds is malformed",
    )


def _n_added(info: dict) -> int:
    """Articles added since the fit, by the history (an upper bound: replacements count too)."""
    adds = info.get("adds", [])
    if not isinstance(adds, list):
        return 0
    return sum(a["n_added"] for a in adds if isinstance(a, dict) and _is_count(a.get("n_added")))


def _words(value) -> bool:
    """None or a list of strings."""
    return value is None or (isinstance(value, (list, tuple)) and all(isinstance(w, str) for w in value))


def _word_counts(value) -> bool:
    """None or a mapping of strings to counts."""
    return value is None or (
        isinstance(value, dict) and all(isinstance(w, str) and _is_count(c) for w, c in value.items())
    )


def _is_count(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0
