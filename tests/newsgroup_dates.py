"""A dated real corpus for trend tests: the newsgroup posts, each dated by its own `Date:` e-mail header.

The dates are read here, in the test, from the header lines inside each post (April-May 1993); the
corpus reader is not asked to guess dates. The body (after the first blank line) is the text, so the
topics are about the posts rather than their routing headers.
"""

import re
from email.utils import parsedate_to_datetime

import topics
from topics import Article

_DATE = re.compile(r"^Date: (.+)$", re.MULTILINE)


def dated_articles(records):
    """Articles with ISO dates from each record's `Date:` header; records without one keep date=None."""
    articles = []
    for r in records:
        head, _, body = r["text"].partition("\n\n")
        match = _DATE.search(head)
        date = parsedate_to_datetime(match.group(1)).date().isoformat() if match else None
        articles.append(Article(id=r["id"], text=body, title=r["title"], date=date))
    return articles


def fit_dated(records):
    """6 topics over the 200 newsgroup posts, dated 1993-04-01 .. 1993-05-17 by their own headers."""
    return topics.fit(dated_articles(records), n_topics=6, random_state=0)
