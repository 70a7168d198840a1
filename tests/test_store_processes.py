"""Real processes changing one model at once, and signals during a save (issue 18): no change is lost,
SIGTERM is handled like Ctrl-C, and temporary files of killed saves are cleaned up. Every process is
bounded by a timeout; nothing here asserts on timings."""

import os
import signal
import subprocess
import sys

import pytest
from processes import fifo_fed_then_signalled, finish, signal_once_saving, start, temp_files, write_jsonl

import topics
from topics.store import lock_model

TERMINATED = "topics: error: terminated; nothing was written\n"


@pytest.fixture
def small_model(tmp_path, lee_records):
    write_jsonl(tmp_path / "old.jsonl", lee_records[:40])
    topics.fit(tmp_path / "old.jsonl", 3).save(tmp_path / "m.joblib")
    write_jsonl(tmp_path / "one.jsonl", lee_records[40:70])
    write_jsonl(tmp_path / "two.jsonl", lee_records[70:100])
    return tmp_path / "m.joblib"


def ids(path):
    return set(topics.load(path).articles_.ids)


# -- concurrent writers -----------------------------------------------------------------------------------
def test_two_concurrent_adds_keep_both_additions(tmp_path, lee_records, small_model):
    processes = [start(tmp_path, "add", batch, "--model", "m.joblib") for batch in ("one.jsonl", "two.jsonl")]
    results = [finish(p) for p in processes]
    for code, _, stderr in results:
        assert code == 0, stderr
    said = sorted(int(stdout.split(" now holds ")[1].split()[0]) for _, stdout, _ in results)
    assert said == [70, 100]  # the second to save saw the first one's articles: they queued, none was lost
    assert ids(small_model) == {r["id"] for r in lee_records[:100]}
    assert temp_files(tmp_path) == []


def test_add_and_label_at_once_keep_both_changes(tmp_path, lee_records, small_model):
    processes = [
        start(tmp_path, "add", "one.jsonl", "--model", "m.joblib"),
        start(tmp_path, "label", "1", "Concurrent name", "--model", "m.joblib"),
    ]
    for code, _, stderr in map(finish, processes):
        assert code == 0, stderr
    model = topics.load(small_model)
    assert len(model.articles_) == 70 and model.topic_names_[1] == "Concurrent name"


def test_a_writer_waits_for_the_lock_and_readers_do_not(tmp_path, lee_records, small_model):
    before = small_model.read_bytes()
    with lock_model(small_model):  # another writer, here this test, is in the middle of a change
        adding = start(tmp_path, "add", "one.jsonl", "--model", "m.joblib")
        waiting = adding.stderr.readline()
        assert waiting == "topics: waiting for another command to finish changing m.joblib\n"
        reader = start(tmp_path, "similar", "--text", "bushfire", "--model", "m.joblib")
        code, stdout, stderr = finish(reader)
        assert code == 0 and stderr == "" and stdout
        assert adding.poll() is None and small_model.read_bytes() == before
    code, stdout, stderr = finish(adding)
    assert code == 0 and stdout.startswith("Added 30 articles"), stderr
    assert len(ids(small_model)) == 70


# -- signals ------------------------------------------------------------------------------------------------
def test_sigterm_while_fit_reads_is_handled_like_ctrl_c(tmp_path, lee_records, small_model):
    before = small_model.read_bytes()
    fifo = tmp_path / "news.jsonl"
    os.mkfifo(fifo)
    process = start(tmp_path, "fit", "news.jsonl", "--model", "m.joblib", "--force", "--topics", "3")
    assert fifo_fed_then_signalled(process, fifo, lee_records[:100], signal.SIGTERM) == (143, "", TERMINATED)
    assert small_model.read_bytes() == before and temp_files(tmp_path) == []


def test_sigterm_while_saving_leaves_old_or_new_model_and_no_temporary_file(tmp_path, lee_records, small_model):
    before = small_model.read_bytes()
    write_jsonl(tmp_path / "news.jsonl", lee_records)
    process = start(tmp_path, "fit", "news.jsonl", "--model", "m.joblib", "--force", "--topics", "4")
    try:
        signal_once_saving(process, tmp_path, signal.SIGTERM)
        code, stdout, stderr = finish(process, 60)
    finally:
        process.kill()
    assert temp_files(tmp_path) == []
    if code == 143:
        assert (stdout, stderr) == ("", TERMINATED) and small_model.read_bytes() == before
    else:  # the save won the race: then the whole new model is in place
        assert code == 0, stderr
        assert len(topics.load(small_model).articles_) == 300


def test_temporary_files_of_a_killed_save_are_removed_by_the_next_save(tmp_path, lee_records, small_model):
    write_jsonl(tmp_path / "news.jsonl", lee_records)
    process = start(tmp_path, "fit", "news.jsonl", "--model", "m.joblib", "--force", "--topics", "4")
    try:
        signal_once_saving(process, tmp_path, signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        process.kill()
    left = temp_files(tmp_path)
    if not left:
        pytest.skip("the save finished before SIGKILL landed")
    assert all(".m.joblib.topics-" in name and f"-{process.pid}-" in name for name in left)
    # A temporary file of a save still running (here: a live process's id) is not touched.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / left[0].replace(f"-{process.pid}-", f"-{sleeper.pid}-")
        live.write_bytes(b"in progress")
        code, _, stderr = finish(start(tmp_path, "label", "0", "After the crash", "--model", "m.joblib"))
        assert code == 0, stderr
        assert temp_files(tmp_path) == [live.name]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert topics.load(small_model).topic_names_[0] == "After the crash"
