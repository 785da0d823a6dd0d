"""Small text helpers shared by the panels."""


def duration(seconds: float) -> str:
    """'45 s', '3 min 05 s', '2 h 07 min': how long something will take, for a person."""
    seconds = int(round(max(0.0, seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` as written: Qt would read a file name like "<b>x.png" as markup."""
    import html

    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"
