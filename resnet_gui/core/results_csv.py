"""Classification results as CSV: one row per file, written whole or not at all."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

from resnet_gui.core.atomic_write import AtomicFile
from resnet_gui.core.errors import UserError
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


class CsvResultAppender:
    """Goes on with a results CSV that a stopped run left: `done` holds the files already in it, and rows
    are appended a batch at a time, each batch flushed and fsynced, so after any crash a row is either
    whole or absent (a row cut short is dropped when the file is opened again)."""

    def __init__(self, path: str | os.PathLike, top_k: int):
        self.path = Path(path)
        self.top_k = top_k
        header = csv_header(top_k)
        self.done: set[str] = set()
        if self.path.exists() and self.path.stat().st_size:
            data = self.path.read_bytes()
            whole = data[: data.rfind(b"\n") + 1]
            if len(whole) != len(data):
                os.truncate(self.path, len(whole))  # a row the last run did not finish writing
            rows = list(csv.reader(io.StringIO(whole.decode("utf-8-sig", "surrogateescape"), newline="")))
            if rows and rows[0] != header:
                raise UserError(f"{self.path} was written with other columns (another --top-k?); resume with "
                                "the options of the run that wrote it, or write to a new file.")
            self.done = {row[0] for row in rows[1:] if row}
            fresh = not rows
        else:
            fresh = True
        self.stream = open(self.path, "a", newline="", encoding="utf-8", errors="surrogateescape")
        if fresh:
            self._write([header])

    def is_done(self, path: str | os.PathLike) -> bool:
        return os.fspath(path) in self.done

    def write_batch(self, predictions: Iterable[Prediction]) -> None:
        self._write([csv_row(p, self.top_k) for p in predictions])

    def _write(self, rows: list[list[str]]) -> None:
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows(rows)
        self.stream.write(buffer.getvalue())  # one write per batch
        self.stream.flush()
        os.fsync(self.stream.fileno())

    def close(self) -> Path:
        self.stream.close()
        return self.path
