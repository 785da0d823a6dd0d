"""Classification results as CSV: one row per file, written whole or not at all."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from resnet_gui.core.atomic_write import AtomicFile
from resnet_gui.core.predictions import Prediction


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


class CsvResultWriter(AtomicFile):
    """Streams rows into the CSV as batches arrive; the file appears, whole, on `commit()`."""

    def __init__(self, path: str | os.PathLike, top_k: int, *, for_excel: bool = False):
        # A file name that is not UTF-8 is written as its own bytes, so the CSV names the file exactly.
        # Excel reads a CSV as UTF-8 only when it starts with a byte-order mark: the window writes one.
        super().__init__(path, "w", newline="", encoding="utf-8-sig" if for_excel else "utf-8",
                         errors="surrogateescape")
        self.top_k = top_k
        self.writer = csv.writer(self.stream)
        self.writer.writerow(csv_header(top_k))

    def write(self, prediction: Prediction) -> None:
        self.writer.writerow(csv_row(prediction, self.top_k))


def write_predictions_csv(path: str | os.PathLike, predictions: Iterable[Prediction], top_k: int, *,
                          for_excel: bool = False) -> Path:
    with CsvResultWriter(path, top_k, for_excel=for_excel) as writer:
        for prediction in predictions:
            writer.write(prediction)
    return writer.path
