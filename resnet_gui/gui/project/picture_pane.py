"""The Project tab's right side: the picture large (decoded off the GUI thread), the model's top classes as
bars (a click assigns one), what it is and its last decisions, and the Accept and Exclude buttons."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from resnet_gui.core.projects.records import Picture
from resnet_gui.core.text import display_path
from resnet_gui.gui.charts.topk_chart import TopKChart
from resnet_gui.gui.image_preview import ImagePreview
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.jobs.pictures import decode_preview
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.widgets import never_widens


@dataclass(frozen=True)
class _Guess:
    label: str
    prob: float
    class_id: int


class PicturePane(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.preview_task = Task(self, "project-preview")
        right_layout = QVBoxLayout(self)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.preview = ImagePreview()
        self.preview.setMinimumSize(240, 240)
        right_layout.addWidget(self.preview, 3)
        self.chart = TopKChart()
        self.chart.setMinimumHeight(130)
        self.chart.setToolTip("Click a bar to give the picture that class.")
        right_layout.addWidget(self.chart, 2)
        self.info = never_widens(QLabel())
        self.info.setTextFormat(Qt.TextFormat.RichText)
        right_layout.addWidget(self.info)
        decide = QHBoxLayout()
        self.accept_button = QPushButton("Accept (Enter)")
        self.accept_button.setProperty("journey_name", "Accept (Enter)")  # its text says what Enter does now
        self.keep_button = QPushButton("Keep as it is (K)")
        self.keep_button.setToolTip("The check was wrong about this picture: it leaves this list, and the next check "
                                    "does not list it here again unless its label changes.")
        self.keep_button.hide()
        self.exclude_button = QPushButton("Exclude (Del)")
        decide.addWidget(self.accept_button)
        decide.addWidget(self.keep_button)
        decide.addWidget(self.exclude_button)
        right_layout.addLayout(decide)
        # The review is done with the keys on the grid: a click on a bar or a button must not take them away
        # (after a bar click, Enter, the digits and Del used to do nothing, silently).
        for widget in (self.chart, self.accept_button, self.keep_button, self.exclude_button, self.preview):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def clear(self) -> None:
        self.preview_task.cancel()
        self.preview.show_message("")
        self.chart.show_guesses([])
        self.info.setText("")
        for button in (self.accept_button, self.keep_button, self.exclude_button):
            button.setEnabled(False)  # nothing to decide on

    def show_picture(self, picture: Picture, names: dict[int, str], run_names: dict[int, str],
                     history: list[dict]) -> None:
        """A picture with the reviewed run's guesses (`names`: the project's classes, `run_names`: the run's
        own, for a class deleted since) and its last decisions."""
        guesses = [_Guess(names.get(c, run_names.get(c, "?")), p, c) for c, p in picture.top_k()]
        self.chart.show_guesses(guesses)
        self.show_decisions(picture, names)
        self.preview.show_message("Loading…")
        self.preview_task.start(Job(decode_preview, str(picture.path)), returned=self._on_preview)
        label = names.get(picture.class_id, "unlabelled") if not picture.excluded else "excluded"
        said = "<br>".join(f"{html.escape(h['source'])}: {html.escape(h['label'] or '-')}"
                           + (f" (run {h['run']} said {html.escape(h['predicted'] or '?')})" if h["run"] else "")
                           for h in history[-4:])
        if picture.unfamiliar and picture.class_id is None and not picture.excluded:
            label += (" · unfamiliar: unlike the pictures the model was trained on, so its guess is not to be "
                      "trusted; a sort puts it into _unfamiliar")
        found = f"<span style='color:#a33'>Check: {html.escape(picture.note)}</span><br>" if picture.note else ""
        if picture.why:
            found += f"<span style='color:#555'>Why here: {html.escape(picture.why)}</span><br>"
        self.info.setText(f"<b>{html.escape(picture.path.name)}</b> · {html.escape(label)}<br>{found}"
                          f"<span style='color:#666'>{html.escape(display_path(picture.path))}</span><br>{said}")

    def show_decisions(self, picture: Picture, names: dict[int, str]) -> None:
        """What Enter does for this picture, on its button: accept the model's guess, or in a check's view
        (a picture with a note) give the class it looks like, or keep it as it is."""
        in_check = picture.note is not None
        self.keep_button.setVisible(in_check)
        self.keep_button.setEnabled(in_check)
        self.exclude_button.setEnabled(True)
        if not in_check:
            self.accept_button.setText("Accept (Enter)")
            self.accept_button.setEnabled(bool(picture.top_k_json) and picture.class_id is None)
            return
        suggested = names.get(picture.suggested) if picture.suggested is not None else None
        relabel = suggested is not None and picture.suggested != picture.class_id
        self.accept_button.setText(f"Make it {suggested} (Enter)" if relabel else "Keep (Enter)")
        self.accept_button.setEnabled(True)

    def _on_preview(self, result) -> None:
        _, image, error = result
        if image is not None:
            self.preview.show_image(image)
        else:
            self.preview.show_message(f"This picture cannot be shown: {error}.")

    def shutdown(self) -> None:
        self.preview_task.shutdown()
