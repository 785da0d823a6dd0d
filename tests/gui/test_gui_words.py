"""Words a lab user reads: plain ones in the window with the technical term on hover, file dialogs that offer
every picture the app opens, and the example's folder where a user would look."""

from resnet_gui.gui import dialogs
from resnet_gui.gui.example_flow import example_folder


def test_the_open_dialogs_offer_every_format_the_app_reads():
    pattern = dialogs.image_filter()
    for ext in ("*.avif", "*.heic", "*.HEIC", "*.heif", "*.jpg", "*.JPG", "*.tif", "*.webp"):
        assert ext in pattern


def test_the_example_is_not_in_a_doubled_folder(qapp):
    parts = example_folder().parts
    assert parts[-1] == "example" and parts.count("resnet-gui") <= 1


def test_the_train_tab_says_stem_and_calibration_error_in_plain_words(window):
    panel = window.train_panel
    stems = [panel.form.stem.itemText(i) for i in range(panel.form.stem.count())]
    assert stems == ["By picture size", "For photographs (ImageNet stem)", "Small pictures, halved (pooled stem)",
                     "Small pictures, every pixel (small-input stem)"]
    assert "small-input stem" in panel.form.stem.toolTip() and "from 32 px" in panel.form.stem.toolTip()


def test_calibration_in_plain_words():
    from resnet_gui.core.summaries import describe_calibration

    bins = {"bins": [], "ece": 0.2}
    fitted = {"temperature": 1.5, "declined": None, "reliability_before": bins,
              "reliability_after": {"bins": [], "ece": 0.05}}
    assert describe_calibration(fitted, plain=True) == ("corrected, from off by 0.200 to off by 0.050 on the "
                                                        "validation pictures")
    assert "expected calibration error" not in describe_calibration(fitted, plain=True)
    assert "expected calibration error 0.200 -> 0.050" in describe_calibration(fitted)


def test_confusion_column_names_never_overlap_when_the_view_narrows(qtbot):
    """'clu…erelo…edempty' was seen: names cut once for a wide view, then squeezed together."""
    from PySide6.QtGui import QFontMetrics

    from resnet_gui.gui.charts.confusion_view import ConfusionView

    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    classes = ["cluster", "elongated", "empty", "round"]
    view.show_matrix([[5, 1, 0, 0], [0, 6, 0, 0], [0, 0, 6, 0], [1, 0, 0, 5]], classes)
    qtbot.waitUntil(lambda: view.getPlotItem().vb.width() > 500)
    assert view.column_names() == classes  # room enough: whole names
    for width in (360, 260):
        view.resize(width, 300)
        qtbot.waitUntil(lambda width=width: view.width() == width)
        metrics = QFontMetrics(view.getPlotItem().getAxis("bottom").style.get("tickFont") or view.font())
        column = view.getPlotItem().vb.width() / 4
        names = view.column_names()
        assert len(names) == 4 and all(metrics.horizontalAdvance(name) < column for name in names), (width, names)


def test_the_unsure_line_says_what_it_is(qtbot):
    from resnet_gui.gui.charts.topk_chart import TopKChart

    class Guess:
        def __init__(self, label, prob):
            self.label, self.prob = label, prob

    chart = TopKChart()
    qtbot.addWidget(chart)
    chart.show_guesses([Guess("round", 0.52), Guess("cluster", 0.44)], threshold=0.8)
    assert chart.threshold_line.isVisible()
    assert chart.threshold_line.label.toPlainText() == "unsure below 80%"


def test_the_picture_grid_shares_its_width_among_its_columns(qtbot):
    from resnet_gui.gui.project.picture_grid import GRID_ICON, PictureGrid, PictureGridModel, ThumbnailLoader

    loader = ThumbnailLoader()
    grid = PictureGrid(PictureGridModel(loader))
    qtbot.addWidget(grid)
    try:
        for width in (450, 640, 1000):
            grid.resize(width, 400)
            grid.show()
            qtbot.waitUntil(lambda width=width: grid.width() == width)
            cell = grid.gridSize().width() + grid.spacing()
            columns = (grid.viewport().width() - 2 * grid.spacing()) // cell
            unused = grid.viewport().width() - columns * cell
            assert grid.gridSize().width() >= GRID_ICON + 28 and unused < cell // 2, (width, cell, unused)
    finally:
        loader.shutdown()


def test_the_loss_axis_is_labelled_in_1_2_5_steps_across_the_losses_seen(qtbot):
    """pyqtgraph labels only powers of ten: a loss between 0.3 and 1.1 had no label at all."""
    from types import SimpleNamespace

    from resnet_gui.gui.charts.training_plots import TrainingPlots, log_ticks

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.add_batches([SimpleNamespace(epoch=1, batch=b, batches=4, loss=loss)
                       for b, loss in enumerate((1.1, 0.8, 0.5, 0.3), 1)])
    plots.add_epoch(SimpleNamespace(epoch=1, train_loss=0.6, val_loss=1.4, train_acc=0.5, val_acc=0.4))
    low, high = plots._loss_range
    assert low == min(*plots.batch_y, 0.6) and high == 1.4  # the smoothed batches and the epoch's losses
    labels = [text for _, text in plots._ticks_shown]
    assert labels == [text for _, text in log_ticks(low, high)] == ["0.6", "0.8", "1"]
    plots.reset()
    assert plots._ticks_shown is None and plots._loss_range == (float("inf"), 0.0)
