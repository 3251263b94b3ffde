"""files.new_output: a new file never replaces one that exists, whoever finishes first."""

import os

import pytest

from conftest import leftovers
from neural_filter import files


def write_new(path, text):
    claimed = []
    with files.new_output(path, claimed) as temporary:
        temporary.write_text(text)
    return claimed[0]


@pytest.mark.parametrize("links", [True, False])  # False: a file system without hard links (FAT, some shares)
def test_new_output_takes_the_next_free_name_and_keeps_the_old(tmp_path, monkeypatch, links):
    if not links:
        def no_link(source, target):
            raise PermissionError("hard links are not supported here")

        monkeypatch.setattr(os, "link", no_link)
    path = tmp_path / "model.keras"
    path.write_text("the user's model")
    (tmp_path / "model_2.keras").write_text("another")
    assert write_new(path, "new") == tmp_path / "model_3.keras"
    assert [p.read_text() for p in (path, tmp_path / "model_2.keras", tmp_path / "model_3.keras")] == [
        "the user's model", "another", "new"]
    assert write_new(tmp_path / "fresh.keras", "first") == tmp_path / "fresh.keras"
    assert leftovers(tmp_path) == []


def test_new_output_that_fails_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="writer broke"):
        with files.new_output(tmp_path / "model.keras", []) as temporary:
            temporary.write_text("half")
            raise ValueError("writer broke")
    assert list(tmp_path.iterdir()) == []
