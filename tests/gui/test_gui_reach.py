"""The window's side of reach: unfamiliar pictures in the table, the filter, the chart and the export;
test-time augmentation under Options, carried to the classification and the evaluation."""

import csv

from resnet_gui.core.inference import predictor as inference
from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from resnet_gui.gui.charts.topk_chart import UNFAMILIAR_COLOUR
from resnet_gui.gui.classify.results_model import LABEL, UNFAMILIAR_ONLY
from tests.gui.test_gui_classify import classify_and_wait, load
from tests.support import COLOURS, TINY, tiny_model


def strict_checkpoint(path):
    """A tiny model whose familiarity threshold no picture passes: every answer is 'unfamiliar'."""
    write_checkpoint(path, checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=list(COLOURS), small_input=True, preprocessing=TINY,
        familiarity={"method": "energy", "threshold": -1e9, "familiar_share": 0.95, "samples": 10}))
    return path


def test_unfamiliar_rows_are_marked_filtered_charted_and_exported(qtbot, window, tmp_path, image_folder, monkeypatch):
    seen = []
    original = inference.Predictor.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.tta)  # what this predictor classifies with, from its options

    monkeypatch.setattr(inference.Predictor, "__init__", recording_init)
    load(qtbot, window, strict_checkpoint(tmp_path / "strict.pt"))
    window.tta_actions["flip"].trigger()  # Options › Test-time augmentation › Mirror image too
    assert window.options.tta == "flip" and window.settings.get("model/tta") == "flip"
    classify_and_wait(qtbot, window, [image_folder])
    assert seen[-1] == "flip"
    panel = window.classify_panel
    good = [r for r, row in enumerate(panel.model.rows) if row.error is None]
    assert len(good) == 5 and panel.model.unfamiliar_count() == 5
    assert all(panel.model.index(r, LABEL).data().startswith("unfamiliar (") for r in good)
    assert panel.filter.findData(UNFAMILIAR_ONLY) >= 0
    assert panel.filter.itemText(panel.filter.findData(UNFAMILIAR_ONLY)) == "Unfamiliar (5)"
    panel.filter.setCurrentIndex(panel.filter.findData(UNFAMILIAR_ONLY))
    assert panel.proxy.rowCount() == 5
    panel.select_row(0)
    assert panel.chart_title.text().startswith("Unfamiliar") and panel.chart.unfamiliar
    assert panel.chart.bars.opts["brushes"][0] == UNFAMILIAR_COLOUR
    out = tmp_path / "shown.csv"
    panel.export_csv(str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["verdict"] for r in rows] == ["unfamiliar"] * 5 and all(r["label_1"] for r in rows)


def test_the_test_time_augmentation_choice_is_remembered(qtbot, settings, errors):
    from resnet_gui.gui.main_window import MainWindow

    settings.set("model/tta", "ten-crop")
    win = MainWindow(settings)
    qtbot.addWidget(win)
    assert win.options.tta == "ten-crop" and win.tta_actions["ten-crop"].isChecked()
    win.tta_actions[None].trigger()
    assert win.options.tta is None and settings.get("model/tta") == ""
    win.shutdown()
