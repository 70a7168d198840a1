"""The `topics` command line: parse arguments, call one library function, format the answer.

This is the only module that prints. Library errors (:class:`topics.TopicsError`) and usage errors
become one line on stderr and exit code 2; ``--debug`` shows the traceback instead. Ctrl-C exits 130
and, because saving is atomic, leaves any existing model as it was.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path

import click

DEFAULT_MODEL = Path("models") / "default.joblib"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class TopicsGroup(click.Group):
    """A click group whose errors are one line on stderr with exit code 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from .errors import TopicsError

        args = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in args
        try:
            result = super().main(args=args, prog_name=prog_name or "topics", complete_var=complete_var,
                                  standalone_mode=False, **extra)
        except TopicsError as exc:
            if debug:
                raise
            _fail(str(exc))
        except click.exceptions.Abort:
            _fail("interrupted; nothing was written", EXIT_INTERRUPTED)
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted; nothing was written", EXIT_INTERRUPTED)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except BrokenPipeError:  # `topics ... | head`
            sys.stderr.close()
            sys.exit(0)
        sys.exit(result if isinstance(result, int) else 0)


def _fail(message: str, code: int = EXIT_USAGE):
    click.echo(f"topics: error: {message}", err=True)
    sys.exit(code)


class ShareOrCount(click.ParamType):
    """An article count (``2``) or a share of the articles (``0.5``), as for min_df/max_df."""

    name = "COUNT|SHARE"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return value
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            self.fail(f"{value!r} is neither an article count nor a share such as 0.5", param, ctx)


def model_option(f):
    return click.option("--model", "-m", "model_path", type=click.Path(path_type=Path), default=DEFAULT_MODEL,
                        show_default=True, help="The model file.")(f)


def key_option(f):
    return click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Sign (fit) or verify (queries) the model with the key in this file; "
                             "default: $TOPICS_MODEL_KEY if set.")(f)


def _load(model_path: Path, key_file):
    from . import load
    from .store import resolve_key

    return load(model_path, key=resolve_key(key_file))


@click.group(cls=TopicsGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="topics", prog_name="topics")
def cli(debug):
    """Find what a news archive is about and which articles are alike.

    \b
    Example:
      topics fit data/sample                  # learn topics, save models/default.joblib
      topics similar lee-bg-000 --top 5       # articles like a stored one
      topics similar --text "bushfire near Sydney"
      topics summary --words 8                # what each topic is about
    """


# -- fit ------------------------------------------------------------------------------------------------
@cli.command()
@click.argument("corpus", nargs=-1, required=True, type=click.Path(path_type=Path))
@model_option
@click.option("--topics", "-k", "n_topics", type=click.IntRange(min=1), default=None,
              help="Number of topics. Default: sqrt(articles / 2), between 2 and 50.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Random seed: the same data and seed give the same topics.")
@click.option("--force", is_flag=True, help="Replace the model file if it exists.")
@click.option("--format", "corpus_format", type=click.Choice(["auto", "lines", "text", "jsonl", "csv", "tsv"]),
              default="auto", show_default=True,
              help="How to read files named directly: by suffix (auto; .txt is one article per line), "
                   "or each file as one article (text).")
@click.option("--text-field", default="text", show_default=True, help="Text field of JSONL/CSV records.")
@click.option("--id-field", default="id", show_default=True, help="Id field of JSONL/CSV records.")
@click.option("--title-field", default="title", show_default=True, help="Title field of JSONL/CSV records.")
@click.option("--date-field", default="date", show_default=True, help="Date field (YYYY-MM-DD) of JSONL/CSV records.")
@click.option("--skip-bad-lines", is_flag=True, help="Skip and count malformed JSONL/CSV lines instead of stopping.")
@click.option("--min-df", type=ShareOrCount(), default=2, show_default=True,
              help="Drop terms in fewer articles (a count, or a share such as 0.001).")
@click.option("--max-df", type=ShareOrCount(), default=0.5, show_default=True,
              help="Drop terms in more articles (a share, or a count).")
@click.option("--stop-words", "stop_words_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File of extra stop words, one per line.")
@key_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def fit(corpus, model_path, n_topics, seed, force, corpus_format, text_field, id_field, title_field, date_field,
        skip_bad_lines, min_df, max_df, stop_words_file, key_file, quiet):
    """Fit topics and a similarity index on CORPUS and save the model.

    CORPUS is one or more directories (one article per .txt file; .jsonl/.csv inside are read as
    records), .txt files (one article per line), .jsonl or .csv files, or their .gz versions.

    \b
    Example:
      topics fit data/sample --topics 12 --seed 1 --model models/sample.joblib
    """
    from .corpus import read_corpus
    from .model import TopicModel
    from .store import check_writable, resolve_key
    from .text import read_stop_words_file

    articles = read_corpus(corpus, format=corpus_format, text_field=text_field, id_field=id_field,
                           title_field=title_field, date_field=date_field, skip_bad_lines=skip_bad_lines)
    check_writable(model_path, force=force)  # fail before a long fit, not after
    key = resolve_key(key_file)
    extra = sorted(read_stop_words_file(stop_words_file)) if stop_words_file else ()
    model = TopicModel(n_topics, random_state=seed, min_df=min_df, max_df=max_df, extra_stop_words=extra)
    started = time.perf_counter()
    model.fit(articles, progress=not quiet and sys.stderr.isatty())
    model.save(model_path, force=force, key=key)
    info = model.fit_info_
    click.echo(f"Fitted {info['n_articles']:,} articles: {info['n_terms']:,} terms, {info['n_topics']} topics "
               f"in {time.perf_counter() - started:.1f} s.")
    if info["skipped"]:
        click.echo(f"Skipped or repaired: {info['skipped']}.")
    signed = " signed," if key else ""
    click.echo(f"Saved{signed} {model_path} ({_size(model_path)}).")


# -- similar --------------------------------------------------------------------------------------------
@cli.command()
@click.argument("article_id", required=False)
@click.option("--text", "-t", help="Find articles similar to this text.")
@click.option("--file", "-f", "file_path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Find articles similar to the text of this file ('-' reads standard input).")
@model_option
@click.option("--top", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="How many articles.")
@click.option("--format", "out_format", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="Output format.")
@key_option
def similar(article_id, text, file_path, model_path, top, out_format, key_file):
    """Articles most similar to a stored article (ID), to --text, or to a --file.

    The query article itself is never listed. Scores run from 0 (nothing in common) to 1.

    \b
    Example:
      topics similar lee-bg-000 --top 5
      topics similar --text "Reserve Bank cuts interest rates" --format json
      topics similar --file article.txt
    """
    from .corpus import read_query_file

    given = [v is not None for v in (article_id, text, file_path)]
    if sum(given) != 1:
        raise click.UsageError("give exactly one of ID, --text or --file")
    if file_path is not None:
        text = sys.stdin.read() if str(file_path) == "-" else read_query_file(file_path)
    model = _load(model_path, key_file)
    hits = model.similar(id=article_id, text=text, k=top)
    query = {"id": article_id} if article_id is not None else {"file": str(file_path)} if file_path else {"text": text}
    if out_format == "json":
        click.echo(json.dumps({"query": query, "model": str(model_path), "results": [h.to_dict() for h in hits]},
                              ensure_ascii=False, indent=2))
    elif out_format == "csv":
        _write_csv(["rank", "score", "id", "date", "title"],
                   [[i, f"{h.score:.4f}", h.id, h.date or "", h.title or ""] for i, h in enumerate(hits, 1)])
    else:
        rows = [[str(i), f"{h.score:.3f}", h.id, h.date or "-", _shorten(h.title or h.snippet, 70)]
                for i, h in enumerate(hits, 1)]
        click.echo(_table(["#", "score", "id", "date", "title (or start of text)"], rows))


# -- summary --------------------------------------------------------------------------------------------
@cli.command()
@model_option
@click.option("--words", "-w", "n_words", type=click.IntRange(min=1), default=8, show_default=True,
              help="Top words per topic.")
@click.option("--articles", "-a", "n_articles", type=click.IntRange(min=0), default=3, show_default=True,
              help="Representative articles per topic.")
@click.option("--format", "out_format", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="Output format.")
@key_option
def summary(model_path, n_words, n_articles, out_format, key_file):
    """What each topic is about: label, top words, share of the archive, representative articles.

    \b
    Example:
      topics summary --words 10 --articles 2
      topics summary --format json > topics.json
    """
    model = _load(model_path, key_file)
    topic_list = model.topics(n_words=n_words, n_articles=n_articles)
    if out_format == "json":
        doc = {"model": str(model_path), "n_articles": len(model.articles_), "topics": [t.to_dict() for t in topic_list]}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    if out_format == "markdown":
        click.echo(_summary_markdown(topic_list, len(model.articles_)))
        return
    click.echo(f"{len(topic_list)} topics over {len(model.articles_):,} articles (share = part of all topic weight)\n")
    for t in sorted(topic_list, key=lambda t: -t.weight):
        click.echo(f"Topic {t.id}: {t.label}   {t.weight:.1%} · leads in {t.n_articles} articles")
        click.echo(f"  words: {', '.join(t.words)}")
        for a in t.articles:
            click.echo(f"  · {a['id']}  {_shorten(a['title'] or a['snippet'], 80)}")
        click.echo("")


def _summary_markdown(topic_list, n_total: int) -> str:
    lines = ["| topic | label | share | articles | top words |", "|---:|---|---:|---:|---|"]
    for t in sorted(topic_list, key=lambda t: -t.weight):
        lines.append(f"| {t.id} | {_md(t.label)} | {t.weight:.1%} | {t.n_articles} | {_md(', '.join(t.words))} |")
    return "\n".join(lines)


# -- info -----------------------------------------------------------------------------------------------
@cli.command()
@model_option
@click.option("--format", "out_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def info(model_path, out_format):
    """What a model file holds, read from its footer without loading it.

    \b
    Example:
      topics info --model models/default.joblib
    """
    from .store import read_footer

    footer = read_footer(model_path)
    footer = {"path": str(model_path), "file_bytes": Path(model_path).stat().st_size, **footer}
    if out_format == "json":
        click.echo(json.dumps(footer, indent=2))
        return
    rows = [[k, str(footer.get(k))] for k in ("path", "file_bytes", "format_version", "topics_version", "created",
                                               "n_articles", "n_terms", "n_topics")]
    rows.append(["signed", "yes" if footer.get("hmac_sha256") else "no"])
    click.echo(_table(["field", "value"], rows))


# -- formatting helpers ---------------------------------------------------------------------------------
def _table(headers, rows) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [headers, *rows])


def _write_csv(headers, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    click.echo(buffer.getvalue(), nl=False)


def _shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


def main():
    cli.main()


if __name__ == "__main__":
    main()
