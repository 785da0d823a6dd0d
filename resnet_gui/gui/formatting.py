"""Small text helpers shared by the panels."""

from resnet_gui.core.summaries import duration  # noqa: F401  (the panels import it from here)


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` as written: Qt would read a file name like "<b>x.png" as markup."""
    import html

    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"
