"""File names as people read them. No torch here: the window uses this before torch has loaded.

On Linux a file name is bytes; Python keeps bytes that are not UTF-8 as lone surrogates
("caf\udce9.png"), which no UTF-8 output can hold. They are shown as \\xNN escapes.
"""

from __future__ import annotations

import os


def is_text(text: str) -> bool:
    """Whether `text` can be written as UTF-8 (a database, a CSV, JSON): not when it holds a lone surrogate,
    which is how Python keeps a file name's bytes that are not UTF-8, or a "\\ud800" in JSON."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def display_path(path: str | os.PathLike) -> str:
    """`path` as text any screen, terminal or HTML page can show: undecodable bytes as \\xNN."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name makes ("\\ud800" in JSON): shown as \\ud800
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


_CONTROL_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def terminal_text(text: str, keep_newlines: bool = False) -> str:
    """`text` as a terminal shows it, never as it acts on a terminal: control characters (ESC, which starts
    sequences such as OSC 52 that write the clipboard, CR, LF, tab, DEL and the C1 range) as \\xNN, \\n,
    \\r, \\t. `keep_newlines`: a message's own line breaks stay (the names in it are escaped already)."""
    out = []
    for ch in display_path(text):
        code = ord(ch)
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif code < 32 or code == 127 or 128 <= code < 160:
            out.append(_CONTROL_NAMES.get(ch, f"\\x{code:02x}"))
        else:
            out.append(ch)
    return "".join(out)


def figure(value, digits: int = 3) -> str:
    """A figure for a table: "n/a" where there is none (a class without test images, say)."""
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:.{digits}f}"


def display_name(path: str | os.PathLike) -> str:
    """The last part of `path` (a backslash is part of a Linux file name, not a separator)."""
    return display_path(os.path.basename(os.fspath(path)))


def short_label(name: str, room: int) -> str:
    """`name` in at most `room` characters: its start and end, which tell similar names apart."""
    if len(name) <= room:
        return name
    head = room // 2
    return name[:head] + "…" + name[len(name) - (room - 1 - head):]
