"""Classification results as CSV: one row per file, written whole or not at all."""

from __future__ import annotations

import csv
import glob
import io
import os
from collections.abc import Iterable
from pathlib import Path

from resnet_gui.core.atomic_write import AtomicFile, said_as_place_errors
from resnet_gui.core.errors import UserError
from resnet_gui.core.inference.predictions import Prediction

CSV_ENCODING = "utf-8-sig"  # UTF-8 with a byte-order mark: Excel then reads the names as written


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) in a file's name).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: str) -> str:
    """`value` as a cell no spreadsheet runs: OWASP's advice, a ' before a cell that starts like a formula
    (and before one that starts with quotes and then a formula, so that every name reads back exactly).
    Excel and LibreOffice show the text without the first '; `from_spreadsheet_cell` gives the real text."""
    return "'" + value if value.lstrip("'").startswith(FORMULA_STARTS) else value


def from_spreadsheet_cell(value: str) -> str:
    """The text `spreadsheet_cell` was given."""
    return value[1:] if value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS) else value


def spreadsheet_row(cells: Iterable[str]) -> list[str]:
    return [spreadsheet_cell(cell) for cell in cells]


def csv_header(top_k: int) -> list[str]:
    header = ["path", "verdict"]  # the label, or "unsure" below the confidence threshold
    for rank in range(1, top_k + 1):
        header += [f"label_{rank}", f"prob_{rank}"]
    return [*header, "error"]


def csv_row(prediction: Prediction, top_k: int) -> list[str]:
    """One file's cells as written (names neutralised for spreadsheets, see `spreadsheet_cell`)."""
    row = [prediction.path, prediction.verdict]
    for rank in range(top_k):
        if rank < len(prediction.top_k):
            guess = prediction.top_k[rank]
            row += [guess.label, f"{guess.prob:.6f}"]
        else:
            row += ["", ""]
    return spreadsheet_row([*row, prediction.error or ""])


class CsvResultWriter(AtomicFile):
    """Streams rows into the CSV as batches arrive; the file appears, whole, on `commit()`."""

    def __init__(self, path: str | os.PathLike, top_k: int):
        # A file name that is not UTF-8 is written as its own bytes, so the CSV names the file exactly.
        # Excel reads a CSV as UTF-8 only when it starts with a byte-order mark: every CSV the app writes has one.
        super().__init__(path, "w", newline="", encoding=CSV_ENCODING, errors="surrogateescape")
        self.top_k = top_k
        self.writer = csv.writer(self.stream)
        try:
            with said_as_place_errors(self.path):
                self.writer.writerow(csv_header(top_k))
        except BaseException:
            self.abort()
            raise

    def write(self, prediction: Prediction) -> None:
        with said_as_place_errors(self.path):  # a full disk is a sentence, not exit 3
            self.writer.writerow(csv_row(prediction, self.top_k))


def write_predictions_csv(path: str | os.PathLike, predictions: Iterable[Prediction], top_k: int) -> Path:
    with CsvResultWriter(path, top_k) as writer:
        for prediction in predictions:
            writer.write(prediction)
    return writer.path


def read_result_rows(path: str | os.PathLike, top_k: int, *, drop_cut_row: bool = False) -> list[list[str]] | None:
    """The rows (header left out) of a results CSV a run wrote, None when there is no such file. A last row
    cut short by a crash is left out (and with `drop_cut_row`, cut off the file)."""
    path = Path(path)
    if not path.exists() or not path.stat().st_size:
        return None
    data = path.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]
    if drop_cut_row and len(whole) != len(data):
        os.truncate(path, len(whole))  # a row the last run did not finish writing
    rows = list(csv.reader(io.StringIO(whole.decode("utf-8-sig", "surrogateescape"), newline="")))
    if rows and rows[0] != csv_header(top_k):
        raise UserError(f"{path} was written with other columns (another --top-k?); resume with the options of "
                        "the run that wrote it, or write to a new file.")
    return [[from_spreadsheet_cell(cell) for cell in row] for row in rows[1:] if row]


def write_result_rows(path: str | os.PathLike, top_k: int, rows: Iterable[list[str]]) -> Path:
    """A results CSV from rows already made (merging the parts of a run), written whole or not at all."""
    with AtomicFile(path, "w", newline="", encoding=CSV_ENCODING, errors="surrogateescape") as out:
        writer = csv.writer(out.stream)
        writer.writerow(csv_header(top_k))
        writer.writerows(spreadsheet_row(row) for row in rows)
    return Path(path)


def same_file_key(path: str | os.PathLike) -> str:
    """One spelling per file: the absolute path with links and '..' resolved (as `realpath`)."""
    return os.path.realpath(os.fspath(path))


def part_path(path: str | os.PathLike, rank: int, size: int) -> Path:
    """Where process `rank` of `size` appends its share of a CSV while a multi-process run goes on."""
    path = Path(path)
    return path.with_name(f"{path.name}.part-{rank}-of-{size}")


def part_paths(path: str | os.PathLike) -> list[Path]:
    """The parts a run of any number of processes left beside `path`."""
    path = Path(path)
    return sorted(path.parent.glob(f"{glob.escape(path.name)}.part-*-of-*"))


def merge_parts(path: str | os.PathLike, top_k: int, order: list[str], *, keep_existing: bool) -> set[str]:
    """Make `path` one results CSV from the parts beside it (and, with `keep_existing`, the rows it holds
    already), every file once, in `order` (the order one process gives; rows of files not in it follow
    as they were); then remove the parts. Returns the files it holds."""
    rows: dict[str, list[str]] = {}
    if keep_existing:
        rows.update((row[0], row) for row in read_result_rows(path, top_k) or [])
    parts = part_paths(path)
    for part in parts:
        rows.update((row[0], row) for row in read_result_rows(part, top_k) or [])
    if parts or not keep_existing:
        position = {name: i for i, name in enumerate(order)}
        ordered = sorted(rows.values(), key=lambda row: position.get(row[0], len(position)))
        write_result_rows(path, top_k, ordered)
    for part in parts:
        part.unlink(missing_ok=True)
    return set(rows)


def remove_parts(path: str | os.PathLike) -> None:
    for part in part_paths(path):
        part.unlink(missing_ok=True)


class CsvResultAppender:
    """Goes on with a results CSV that a stopped run left: `done` holds the files already in it, and rows
    are appended a batch at a time, each batch flushed and fsynced, so after any crash a row is either
    whole or absent (a row cut short is dropped when the file is opened again)."""

    def __init__(self, path: str | os.PathLike, top_k: int):
        self.path = Path(path)
        self.top_k = top_k
        header = csv_header(top_k)
        rows = read_result_rows(self.path, top_k, drop_cut_row=True)
        self.done: set[str] = {row[0] for row in rows or []}
        # by the file, not by its spelling: a run started with absolute paths and resumed with relative ones
        # classified 960 files again
        self._done_files = {same_file_key(name) for name in self.done}
        fresh = rows is None or not self.path.stat().st_size
        self.stream = open(self.path, "a", newline="", encoding="utf-8", errors="surrogateescape")
        if fresh:
            self.stream.write("\ufeff")  # the byte-order mark Excel needs, as CsvResultWriter writes it
            self._write([header])

    def is_done(self, path: str | os.PathLike) -> bool:
        return os.fspath(path) in self.done or same_file_key(path) in self._done_files

    def write_batch(self, predictions: Iterable[Prediction]) -> None:
        self._write([csv_row(p, self.top_k) for p in predictions])

    def _write(self, rows: list[list[str]]) -> None:
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows(rows)
        with said_as_place_errors(self.path):
            self.stream.write(buffer.getvalue())  # one write per batch
            self.stream.flush()
            os.fsync(self.stream.fileno())

    def close(self) -> Path:
        self.stream.close()
        return self.path


def predictions_as_tsv(predictions, top_k: int) -> str:
    """Rows as tab-separated text with the CSV's header: what a spreadsheet takes from the clipboard."""
    lines = ["\t".join(csv_header(top_k))] + ["\t".join(csv_row(p, top_k)) for p in predictions]
    return "\n".join(lines) + "\n"
