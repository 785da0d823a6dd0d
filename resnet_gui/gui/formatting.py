"""Small text helpers shared by the panels."""


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` as written: Qt would read a file name like "<b>x.png" as markup."""
    import html

    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"
