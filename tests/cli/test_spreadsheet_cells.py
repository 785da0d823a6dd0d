"""Spreadsheet formula injection: a file or class name that starts like a formula (=HYPERLINK(...), +, -, @, tab,
CR) reaches no CSV the app writes as a formula, and the app reads its own CSVs back to the real names."""

from __future__ import annotations

import csv
import json

import pytest

from resnet_gui.cli import main
from resnet_gui.core.inference.results_csv import FORMULA_STARTS, from_spreadsheet_cell, spreadsheet_cell
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.sort import execute_sort, plan_sort
from tests.support import save_noise

HOSTILE = ["=HYPERLINK(\"https:evil\",\"click\").png", "+1+1.png", "-2.png", "@SUM(A1).png", "\tTAB.png",
           "'=already quoted.png"]


def cells(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def assert_no_formula(path):
    for cell in cells(path):
        assert not cell.startswith(FORMULA_STARTS), f"{path.name} holds a formula cell: {cell!r}"


@pytest.mark.parametrize("name", ["=1+1", "+x", "-y", "@z", "\tt", "\rr", "'=q", "''=q", "plain", "'plain", ""])
def test_a_cell_round_trips(name):
    written = spreadsheet_cell(name)
    assert not written.startswith(FORMULA_STARTS)
    assert from_spreadsheet_cell(written) == name


@pytest.fixture
def hostile_folder(tmp_path):
    folder = tmp_path / "shared"
    for i, name in enumerate(HOSTILE):
        save_noise(folder / name, seed=i)
    return folder


def test_classify_csv_resume_and_json(hostile_folder, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["classify", str(hostile_folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(out)]) == 0
    assert_no_formula(out)
    # --resume reads its own CSV back to the real names: nothing is classified twice
    assert main(["classify", str(hostile_folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(out),
                 "--resume"]) == 0
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))[1:]
    assert len(rows) == len(HOSTILE)
    assert sorted(from_spreadsheet_cell(r[0]).rsplit("/", 1)[1] for r in rows) == sorted(HOSTILE)
    capsys.readouterr()
    assert main(["classify", str(hostile_folder / HOSTILE[0]), "--checkpoint", str(tiny_checkpoint), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["path"].endswith(HOSTILE[0])  # JSON stays exact


def test_a_resumed_csv_appends_neutralised_rows(hostile_folder, tiny_checkpoint, tmp_path):
    out = tmp_path / "part.csv"
    first = sorted(hostile_folder.iterdir())[:2]
    assert main(["classify", *map(str, first), "--checkpoint", str(tiny_checkpoint), "--csv", str(out)]) == 0
    assert main(["classify", str(hostile_folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(out),
                 "--resume"]) == 0
    assert_no_formula(out)
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == len(HOSTILE) + 1


def test_the_merged_parts_of_a_sharded_run(tmp_path):
    from resnet_gui.core.inference.results_csv import csv_header, merge_parts, part_path, write_result_rows

    out = tmp_path / "merged.csv"
    write_result_rows(part_path(out, 0, 2), 1, [["=a.png", "x", "x", "0.9", ""]])
    write_result_rows(part_path(out, 1, 2), 1, [["@b.png", "y", "y", "0.8", ""]])
    assert merge_parts(out, 1, ["=a.png", "@b.png"], keep_existing=False) == {"=a.png", "@b.png"}
    assert_no_formula(out)
    assert cells(out)[: len(csv_header(1))] == csv_header(1)


def test_the_sort_log(tmp_path):
    with Project.create(tmp_path / "p") as project:
        project.add_class("cells")
        for i, name in enumerate(HOSTILE[:4]):
            save_noise(tmp_path / "pics" / name, seed=i)
        project.add_images([tmp_path / "pics"], "cells")
        report = execute_sort(project, plan_sort(project, tmp_path / "sorted"))
    assert len(report.placed) == 4
    assert_no_formula(report.log)


def test_the_windows_export_and_copied_rows(qtbot, window, hostile_folder, tiny_checkpoint, tmp_path):
    from PySide6.QtGui import QGuiApplication

    with qtbot.waitSignal(window.model_loaded, timeout=60_000):
        window.use_checkpoint(str(tiny_checkpoint))
    panel = window.classify_panel
    with qtbot.waitSignal(panel.all_done, timeout=60_000):
        window.classify_paths([str(hostile_folder)])
    out = tmp_path / "export.csv"
    panel.export_csv(str(out))
    assert_no_formula(out)
    panel.table.selectAll()
    assert panel.copy_selected() == len(HOSTILE)
    pasted = [cell for line in QGuiApplication.clipboard().text().splitlines() for cell in line.split("\t")]
    assert pasted and not any(cell.startswith(("=", "+", "-", "@")) for cell in pasted)
