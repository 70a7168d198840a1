"""Real processes: Ctrl-C during `topics fit`, queries while the model is replaced, and determinism
across separate runs. Every process is bounded by a timeout; nothing here asserts on timings."""

import json
import os
import signal
import textwrap

import pytest
from processes import (
    fifo_fed_then_signalled,
    finish,
    run,
    signal_once_saving,
    start,
    start_python,
    temp_files,
    write_jsonl,
)

import topics

pytestmark = pytest.mark.slow  # every test here starts real `topics` processes

INTERRUPTED = "topics: error: interrupted; nothing was written\n"


# -- Ctrl-C -----------------------------------------------------------------------------------------------
@pytest.fixture
def previous_model(tmp_path, lee_records):
    write_jsonl(tmp_path / "old.jsonl", lee_records[:40])
    topics.fit(tmp_path / "old.jsonl", 3).save(tmp_path / "m.joblib")
    return tmp_path / "m.joblib"


def test_sigint_while_fit_reads_keeps_the_previous_model(tmp_path, lee_records, previous_model):
    """The corpus is a pipe the test writes into and keeps open, so the SIGINT certainly lands inside the fit."""
    before = previous_model.read_bytes()
    fifo = tmp_path / "news.jsonl"
    os.mkfifo(fifo)
    process = start(tmp_path, "fit", "news.jsonl", "--model", "m.joblib", "--force", "--topics", "3")
    result = fifo_fed_then_signalled(process, fifo, lee_records[:100], signal.SIGINT)
    assert result == (130, "", INTERRUPTED)
    assert previous_model.read_bytes() == before
    assert temp_files(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads thread signal masks from Linux's /proc")
def test_only_the_main_thread_takes_ctrl_c(tmp_path, lee_records):
    """A Ctrl-C the kernel hands to another thread (numpy's BLAS worker) would leave the main thread blocked in
    its read of the pipe: every other thread of the process must block SIGINT and SIGTERM."""
    fifo = tmp_path / "news.jsonl"
    os.mkfifo(fifo)
    process = start(tmp_path, "fit", "news.jsonl", "--model", "m.joblib", "--topics", "3")
    try:
        with open(fifo, "w", encoding="utf-8") as writer:  # blocks until the process opens the corpus
            writer.write("".join(json.dumps(r) + "\n" for r in lee_records[:50]))
            writer.flush()
            tasks = sorted(int(t) for t in os.listdir(f"/proc/{process.pid}/task"))
            blocked = {t: _blocked_signals(process.pid, t) for t in tasks if t != process.pid}
            process.send_signal(signal.SIGINT)
            result = finish(process, 60)
    finally:
        process.kill()
    assert result == (130, "", INTERRUPTED)
    if not blocked:
        pytest.skip("the process has no other thread here (one core: numpy's BLAS starts none)")
    assert all({signal.SIGINT, signal.SIGTERM} <= mask for mask in blocked.values()), blocked


def _blocked_signals(pid: int, tid: int) -> set:
    with open(f"/proc/{pid}/task/{tid}/status", encoding="ascii") as status:
        mask = int(next(line for line in status if line.startswith("SigBlk:")).split()[1], 16)
    return {s for s in signal.Signals if mask >> (s - 1) & 1}


def test_sigint_while_saving_leaves_old_or_new_model_never_half(tmp_path, lee_records, previous_model):
    """SIGINT as soon as the temporary file appears. If the save already finished by then, the new model
    must be complete; otherwise the previous one must be byte-identical. Never a temporary file."""
    before = previous_model.read_bytes()
    write_jsonl(tmp_path / "news.jsonl", lee_records)
    process = start(tmp_path, "fit", "news.jsonl", "--model", "m.joblib", "--force", "--topics", "4")
    try:
        signal_once_saving(process, tmp_path, signal.SIGINT)
        code, stdout, stderr = finish(process, 60)
    finally:
        process.kill()
    assert temp_files(tmp_path) == []
    after = previous_model.read_bytes()
    if code == 130:  # "nothing was written" must be true
        assert (stderr, stdout) == (INTERRUPTED, "")
        assert after == before
    else:  # the save won the race: then it is the whole new model, and the command says so
        assert code == 0, stderr
        assert stdout.startswith("Fitted 300 articles")
        assert len(topics.load(previous_model).articles_) == 300


def test_sigint_after_the_model_is_saved_is_ignored(tmp_path, lee_records, previous_model):
    """Ctrl-C once "Saved ..." is printed can stop nothing: exit 0, no traceback, the new model in place.
    (It used to say "interrupted; nothing was written", or die in the interpreter's teardown.)"""
    write_jsonl(tmp_path / "news.jsonl", lee_records[:60])
    process = start(tmp_path, "fit", "news.jsonl", "--model", "m.joblib", "--force", "--topics", "3")
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Saved"):
                process.send_signal(signal.SIGINT)
                break
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert (process.returncode, stderr) == (0, ""), stderr
    assert lines[-1].startswith("Saved m.joblib")
    assert len(topics.load(previous_model).articles_) == 60


# -- concurrent use ---------------------------------------------------------------------------------------
QUERY = "Palestinian suicide bombing in Israel"
READER = (
    textwrap.dedent("""
    import json, sys, time
    import topics
    path, stop = sys.argv[1], sys.argv[2]
    import os
    for i in range(400):
        if i >= 3 and os.path.exists(stop):
            break
        model = topics.load(path)
        hits = model.similar(text=%r, k=5)
        print(json.dumps([len(model.articles_), [[h.id, round(h.score, 6)] for h in hits]]), flush=True)
""")
    % QUERY
)
WRITER = textwrap.dedent("""
    import sys, topics
    a, b, path, n = topics.load(sys.argv[1]), topics.load(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    for i in range(n):
        (a if i % 2 else b).save(path, force=True)
""")


def answer(model) -> list:
    return [len(model.articles_), [[h.id, round(h.score, 6)] for h in model.similar(text=QUERY, k=5)]]


def test_queries_while_the_model_is_replaced_see_old_or_new_never_a_mixture(tmp_path, lee_records):
    write_jsonl(tmp_path / "a.jsonl", lee_records[:60])
    write_jsonl(tmp_path / "b.jsonl", lee_records[50:110])
    model_a, model_b = topics.fit(tmp_path / "a.jsonl", 3), topics.fit(tmp_path / "b.jsonl", 3)
    model_a.save(tmp_path / "a.joblib")
    model_b.save(tmp_path / "b.joblib")
    model_a.save(tmp_path / "m.joblib")
    expected = {json.dumps(answer(model_a)), json.dumps(answer(model_b))}
    assert len(expected) == 2

    stop = tmp_path / "stop"
    readers = [start_python(tmp_path, READER, "m.joblib", "stop") for _ in range(3)]
    cli_readers = []
    try:
        # Replace the model with a real `topics fit --force`, then with many quick saves of A and B.
        for corpus in ("b.jsonl",):
            run(tmp_path, "fit", corpus, "--model", "m.joblib", "--force", "--topics", "3", "--quiet")
            cli_readers.append(
                start(tmp_path, "similar", "--text", QUERY, "--top", "5", "--format", "json", "--model", "m.joblib")
            )
        code, _, stderr = finish(start_python(tmp_path, WRITER, "a.joblib", "b.joblib", "m.joblib", "20"))
        assert code == 0, stderr
    finally:
        stop.touch()
        outputs = [p.communicate(timeout=120) for p in readers + cli_readers]
    seen = set()
    for process, (stdout, stderr) in zip(readers, outputs[: len(readers)], strict=True):
        assert process.returncode == 0 and stderr == "", stderr
        lines = stdout.splitlines()
        assert len(lines) >= 3
        seen |= set(lines)
    assert seen <= expected  # every query answered by the old or the new model, whole
    for process, (stdout, stderr) in zip(cli_readers, outputs[len(readers) :], strict=True):
        assert process.returncode == 0 and stderr == "", stderr
        hits = [[h["id"], h["score"]] for h in json.loads(stdout)["results"]]
        assert hits in ([[i, round(s, 6)] for i, s in answer(m)[1]] for m in (model_a, model_b))
    assert temp_files(tmp_path) == []


def test_queries_while_articles_are_added_see_old_or_new_never_a_mixture(tmp_path, lee_records):
    write_jsonl(tmp_path / "a.jsonl", lee_records[:60])
    write_jsonl(tmp_path / "c.jsonl", lee_records[60:120])
    model = topics.fit(tmp_path / "a.jsonl", 3)
    model.save(tmp_path / "m.joblib")
    grown = topics.load(tmp_path / "m.joblib")
    grown.add(tmp_path / "c.jsonl")
    expected = {json.dumps(answer(model)), json.dumps(answer(grown))}
    assert len(expected) == 2  # the added articles change the answer

    stop = tmp_path / "stop"
    readers = [start_python(tmp_path, READER, "m.joblib", "stop") for _ in range(3)]
    try:
        # A real `topics add`, then re-adding the same articles with --replace, while the readers query.
        run(tmp_path, "add", "c.jsonl", "--model", "m.joblib")
        for _ in range(3):
            run(tmp_path, "add", "c.jsonl", "--model", "m.joblib", "--replace")
    finally:
        stop.touch()
        outputs = [p.communicate(timeout=120) for p in readers]
    seen = set()
    for process, (stdout, stderr) in zip(readers, outputs, strict=True):
        assert process.returncode == 0 and stderr == "", stderr
        seen |= set(stdout.splitlines())
    assert seen <= expected  # every query answered by the model before or after an add, whole
    assert json.dumps(answer(topics.load(tmp_path / "m.joblib"))) == json.dumps(answer(grown))
    assert temp_files(tmp_path) == []


# -- determinism ------------------------------------------------------------------------------------------
def test_same_corpus_parameters_and_seed_give_identical_answers_across_processes(tmp_path, lee_records):
    folders = [tmp_path / "one", tmp_path / "two"]
    for folder in folders:
        folder.mkdir()
        write_jsonl(folder / "news.jsonl", lee_records[:80])
    steps = [
        ("fit", "news.jsonl", "--model", "m.joblib", "--topics", "6", "--seed", "7", "--quiet"),
        ("summary", "--model", "m.joblib", "--format", "json"),
        ("similar", lee_records[3]["id"], "--model", "m.joblib", "--format", "json"),
    ]
    outputs = {folder: [] for folder in folders}
    for step in steps:  # both runs side by side, each step in a fresh process
        processes = {f: start(f, *step) for f in folders}
        for folder, process in processes.items():
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
            outputs[folder].append(stdout)
    runs = [tuple(outputs[f][1:]) for f in folders]
    assert runs[0] == runs[1]  # byte-identical output from separate fits in separate processes
    # ... and the same as a fit in this process, before and after a save/load round trip
    model = topics.fit(tmp_path / "one" / "news.jsonl", 6, random_state=7)
    summary = json.loads(runs[0][0])["topics"]
    similar = [[h["id"], h["score"]] for h in json.loads(runs[0][1])["results"]]
    model.save(tmp_path / "api.joblib")
    for m in (model, topics.load(tmp_path / "api.joblib")):
        assert [t.to_dict() for t in m.topics(n_words=8)] == summary
        assert [[h.id, round(h.score, 6)] for h in m.similar(id=lee_records[3]["id"], k=10)] == similar
