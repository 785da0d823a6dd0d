"""Writing classification results to CSV, never leaving a half-written file in place."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from resnet_gui.core.inference import Prediction


def csv_header(top_k: int) -> list[str]:
    header = ["path", "verdict"]  # the label, or "unsure" below the confidence threshold
    for rank in range(1, top_k + 1):
        header += [f"label_{rank}", f"prob_{rank}"]
    return [*header, "error"]


def csv_row(prediction: Prediction, top_k: int) -> list[str]:
    row = [prediction.path, prediction.verdict]
    for rank in range(top_k):
        if rank < len(prediction.top_k):
            guess = prediction.top_k[rank]
            row += [guess.label, f"{guess.prob:.6f}"]
        else:
            row += ["", ""]
    return [*row, prediction.error or ""]


class CsvResultWriter:
    """Streams rows to a temporary file beside the target and renames it into place on commit."""

    def __init__(self, path: str | os.PathLike, top_k: int):
        self.path = Path(path)
        self.top_k = top_k
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, self.temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self.stream = os.fdopen(handle, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.stream)
        self.writer.writerow(csv_header(top_k))

    def write(self, prediction: Prediction) -> None:
        self.writer.writerow(csv_row(prediction, self.top_k))

    def commit(self) -> Path:
        self.stream.close()
        os.replace(self.temporary, self.path)
        return self.path

    def abort(self) -> None:
        self.stream.close()
        try:
            os.unlink(self.temporary)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "CsvResultWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def write_predictions_csv(path: str | os.PathLike, predictions: Iterable[Prediction], top_k: int) -> Path:
    with CsvResultWriter(path, top_k) as writer:
        for prediction in predictions:
            writer.write(prediction)
    return writer.path
