"""Near-duplicate pairs: the compiled prefix filter finds exactly the pairs of the brute-force product."""

import numpy as np
import pytest

import topics
from topics.duplicates import near_duplicate_pairs


@pytest.fixture(scope="module")
def copied(lee_records):
    """X of the 300 Lee articles plus 30 copies: reprints with a new headline, a cut ending, edited words."""
    texts = [r["text"] for r in lee_records]
    rng = np.random.default_rng(7)
    for n, i in enumerate(rng.choice(len(lee_records), 30, replace=False).tolist()):
        words = lee_records[i]["text"].split()
        if n % 3 == 0:
            text = "Updated: " + " ".join(words)
        elif n % 3 == 1:
            text = " ".join(words[: max(20, int(len(words) * 0.8))])
        else:
            text = " ".join(w if rng.random() > 0.1 else "changed" for w in words)
        texts.append(text)
    return topics.fit(texts, n_topics=8, random_state=0).doc_terms_


def _pairs(coo):
    return list(zip(coo.row.tolist(), coo.col.tolist(), strict=True)), coo.data


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8, 0.9, 0.99, 1.0])
def test_prefix_filter_equals_brute_force(copied, threshold):
    dense = (copied @ copied.T).toarray()
    rows, cols = np.nonzero(np.triu(dense >= np.float32(threshold - 1e-6), k=1))
    expected = sorted(zip(rows.tolist(), cols.tolist(), strict=True))
    pairs, cosines = _pairs(near_duplicate_pairs(copied, threshold))
    assert pairs == expected and len(expected) >= 5
    np.testing.assert_array_equal(cosines, dense[tuple(np.array(expected).T)])
    reference, reference_cosines = _pairs(near_duplicate_pairs(copied, threshold, compiled=False))
    assert reference == pairs
    np.testing.assert_array_equal(reference_cosines, cosines)


def test_injected_copies_are_found(copied):
    pairs, _ = _pairs(near_duplicate_pairs(copied, 0.8))
    copies = {j for _, j in pairs if j >= 300}
    assert len(copies) >= 25


def test_no_rows_or_no_terms():
    import scipy.sparse as sp

    assert near_duplicate_pairs(sp.csr_matrix((0, 5), dtype=np.float32)).nnz == 0
    assert near_duplicate_pairs(sp.csr_matrix((4, 5), dtype=np.float32)).nnz == 0
