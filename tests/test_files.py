"""topics.files.atomic_write: the one recipe behind model files, reports and charts."""

import os

import pytest

from topics.files import TargetExistsError, atomic_write


def _write(text):
    def write(tmp):
        tmp.write_text(text, encoding="utf-8")

    return write


def test_an_existing_file_keeps_its_mode_and_a_symlink_stays_a_link(tmp_path):
    real = tmp_path / "real.html"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "report.html"
    link.symlink_to(real)
    assert atomic_write(link, _write("new"), force=True) == link
    assert link.is_symlink() and real.read_text() == "new"
    assert (real.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real.html", "report.html"]


def test_without_force_an_existing_file_is_left_alone(tmp_path):
    path = tmp_path / "chart.png"
    path.write_text("old")
    with pytest.raises(TargetExistsError):
        atomic_write(path, _write("new"))
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["chart.png"]


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file_or_folder(tmp_path, failure):
    path = tmp_path / "new" / "deeper" / "m.joblib"

    def write(tmp):
        tmp.write_text("half")
        raise failure

    with pytest.raises(type(failure)):
        atomic_write(path, write, make_folders=True)
    assert os.listdir(tmp_path) == []
    old = tmp_path / "r.html"
    old.write_text("old")
    with pytest.raises(type(failure)):
        atomic_write(old, write, force=True)
    assert old.read_text() == "old" and os.listdir(tmp_path) == ["r.html"]
