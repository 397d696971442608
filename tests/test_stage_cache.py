"""Stage directories: skipped when unchanged, redone when upstream changes, intact after an interrupt."""

from __future__ import annotations

import pytest

from fpgacompress.stage_cache import StageCache, stage_fingerprint


def complete(cache, name, fingerprint, content="x"):
    with cache.writing(name) as partial:
        (partial / "model.txt").write_text(content)
        return cache.commit(name, fingerprint, partial, {"accuracy": 0.7}, seconds=1.5)


def test_completed_stage_is_found_only_with_the_same_fingerprint(tmp_path):
    cache = StageCache(tmp_path)
    train = stage_fingerprint({"epochs": 30}, upstream="")
    complete(cache, "train", train)
    record = cache.completed("train", train)
    assert record is not None and record.results == {"accuracy": 0.7} and record.seconds == 1.5
    assert (record.directory / "model.txt").read_text() == "x"
    assert cache.completed("train", stage_fingerprint({"epochs": 31}, upstream="")) is None


def test_downstream_fingerprint_follows_upstream_changes():
    first = stage_fingerprint({"reuse_factor": 1}, upstream=stage_fingerprint({"epochs": 30}, ""))
    second = stage_fingerprint({"reuse_factor": 1}, upstream=stage_fingerprint({"epochs": 31}, ""))
    assert first != second
    assert first == stage_fingerprint({"reuse_factor": 1}, upstream=stage_fingerprint({"epochs": 30}, ""))


def test_interrupted_stage_leaves_completed_stages_intact(tmp_path):
    cache = StageCache(tmp_path)
    fingerprint = stage_fingerprint({"epochs": 30}, "")
    complete(cache, "train", fingerprint, content="good")
    with pytest.raises(KeyboardInterrupt), cache.writing("train") as partial:
        (partial / "model.txt").write_text("half-written")
        raise KeyboardInterrupt
    assert not (tmp_path / "train.partial").exists()
    assert (cache.completed("train", fingerprint).directory / "model.txt").read_text() == "good"


def test_recommitting_replaces_the_old_stage(tmp_path):
    cache = StageCache(tmp_path)
    complete(cache, "build", "aaa", content="old")
    complete(cache, "build", "bbb", content="new")
    assert cache.completed("build", "aaa") is None
    assert (cache.completed("build", "bbb").directory / "model.txt").read_text() == "new"


@pytest.mark.parametrize("package", ["fpgacompress", "hls4ml", "tensorflow", "qkeras"])
def test_fingerprint_changes_with_fpgacompress_or_the_stack_version(monkeypatch, package):
    from importlib import metadata

    import fpgacompress.stage_cache as stage_cache

    before = stage_fingerprint({"epochs": 30}, upstream="")
    real_version = metadata.version
    monkeypatch.setattr(
        stage_cache.metadata, "version", lambda name: "99.0" if name == package else real_version(name)
    )
    stage_cache.stack_versions.cache_clear()
    try:
        after = stage_fingerprint({"epochs": 30}, upstream="")
    finally:
        monkeypatch.undo()
        stage_cache.stack_versions.cache_clear()
    assert after != before
    assert stage_fingerprint({"epochs": 30}, upstream="") == before
