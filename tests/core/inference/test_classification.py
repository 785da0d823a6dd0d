"""One classification run for every front end: the files, what a CSV holds already, the rows' way to disk."""

import pytest

from resnet_gui.core.errors import UserError
from resnet_gui.core.inference.classification import ClassificationRun
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.core.runtime.distributed import World

OPTIONS = PredictOptions(device="cpu", batch_size=2, num_workers=0, top_k=2)


def every_batch(run, cancelled=None):
    return [p for batch in run.batches(cancelled) for p in batch]


def test_a_fresh_csv_appears_whole_at_the_end_and_a_resumed_one_gets_only_what_is_missing(tiny_checkpoint,
                                                                                             image_folder, tmp_path):
    bundle = load_checkpoint_bundle(tiny_checkpoint)
    whole, resumed = tmp_path / "whole.csv", tmp_path / "resumed.csv"
    run = ClassificationRun([image_folder], bundle, OPTIONS, csv=whole)
    rows = every_batch(run)
    assert not whole.exists()  # renamed into place by finish, never half-written
    assert run.finish() is None and whole.exists()
    assert run.classified == len(rows) == len(run.found.files) and run.failed == 1  # broken.jpg
    header, *lines = whole.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    assert len(lines) == len(rows)

    resumed.write_text(header + lines[0], encoding="utf-8-sig")  # a run stopped after its first row
    again = ClassificationRun([image_folder], bundle, OPTIONS, csv=resumed, resume=True)
    assert again.already == 1 and [str(f) for f in again.to_do] == [p.path for p in rows[1:]]
    assert [p.path for p in every_batch(again)] == [p.path for p in rows[1:]]
    again.finish()
    assert resumed.read_text(encoding="utf-8-sig") == whole.read_text(encoding="utf-8-sig")
    summary = again.summary()
    assert summary["files"] == len(rows) - 1 and summary["arch"] == bundle.arch and "processes" not in summary


def test_a_stopped_fresh_run_leaves_no_csv_and_a_resumed_one_keeps_its_rows(tiny_checkpoint, image_folder,
                                                                           tmp_path):
    bundle = load_checkpoint_bundle(tiny_checkpoint)
    fresh = ClassificationRun([image_folder], bundle, OPTIONS, csv=tmp_path / "fresh.csv")
    with pytest.raises(KeyboardInterrupt):
        for _ in fresh.batches():
            raise KeyboardInterrupt
    assert not (tmp_path / "fresh.csv").exists() and not list(tmp_path.glob("*.tmp*"))
    kept = ClassificationRun([image_folder], bundle, OPTIONS, csv=tmp_path / "kept.csv", resume=True)
    with pytest.raises(KeyboardInterrupt):
        for _ in kept.batches():
            raise KeyboardInterrupt
    lines = (tmp_path / "kept.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + OPTIONS.batch_size  # the header and the first batch, whole


def test_the_window_stops_between_batches_and_resume_needs_a_csv(tiny_checkpoint, image_folder):
    bundle = load_checkpoint_bundle(tiny_checkpoint)
    run = ClassificationRun([image_folder], bundle, OPTIONS)
    seen = []
    for batch in run.batches(cancelled=lambda: len(seen) >= 1):
        seen.append(batch)
    assert len(seen) == 1 and run.classified == OPTIONS.batch_size < len(run.found.files)
    with pytest.raises(UserError, match="--csv OUT.csv"):
        ClassificationRun([image_folder], bundle, OPTIONS, resume=True)


def test_a_share_of_several_processes_is_contiguous_and_goes_to_its_own_part(tiny_checkpoint, image_folder,
                                                                            tmp_path, monkeypatch):
    """Rank 1 of 2, without a process group (the collectives are stood in for): its share, and its part."""
    from resnet_gui.core.inference import classification

    monkeypatch.setattr(classification, "share_from_main", lambda world, value: value)
    bundle = load_checkpoint_bundle(tiny_checkpoint)
    run = ClassificationRun([image_folder], bundle, OPTIONS, csv=tmp_path / "out.csv", world=World(1, 2))
    files = run.found.files
    assert run.to_do == files[len(files) // 2:]
    every_batch(run)
    part = tmp_path / "out.csv.part-1-of-2"
    assert len(part.read_text(encoding="utf-8-sig").splitlines()) == 1 + len(run.to_do)
