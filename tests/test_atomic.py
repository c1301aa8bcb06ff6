"""Atomic outputs: a failed write leaves the destination as it was and no temporary behind."""

from __future__ import annotations

import doctest

import pytest

import medinteract._atomic as atomic
from medinteract._atomic import atomic_path, staged_folder, write_atomic


def test_examples_in_the_module_docstring() -> None:
    assert doctest.testmod(atomic).failed == 0


def test_write_atomic_writes_text_and_bytes(tmp_path) -> None:
    assert write_atomic(tmp_path / "a.txt", "héllo").read_text(encoding="utf-8") == "héllo"
    assert write_atomic(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_failed_file_write_keeps_the_old_file_and_no_temporary(tmp_path) -> None:
    path = tmp_path / "scan.nii.gz"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as temporary:
        assert temporary.name.endswith("scan.nii.gz") and temporary.name.startswith(".")
        temporary.write_text("half")
        raise RuntimeError("writer crashed")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["scan.nii.gz"]


def test_staged_folder_replaces_the_target_as_a_whole(tmp_path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.txt").write_text("stale")
    with staged_folder(target) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failed_staged_folder_leaves_the_target_untouched(tmp_path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "kept.txt").write_text("kept")
    with pytest.raises(RuntimeError), staged_folder(target) as staging:
        (staging / "new.txt").write_text("new")
        raise RuntimeError("writer crashed")
    assert [p.name for p in target.iterdir()] == ["kept.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_staged_folder_without_replace_refuses_a_non_empty_target(tmp_path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "kept.txt").write_text("kept")
    with pytest.raises(FileExistsError), staged_folder(target, replace=False) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["kept.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with staged_folder(empty, replace=False) as staging:
        (staging / "new.txt").write_text("new")
    assert [p.name for p in empty.iterdir()] == ["new.txt"]
