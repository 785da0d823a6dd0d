"""Names on the terminal: a file or class name with escape sequences (OSC 52 writes the clipboard), CR or LF
is shown escaped in every line printed for a person; JSON keeps it exact."""

from __future__ import annotations

import json

from resnet_gui.cli import main
from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from tests.support import TINY, save_noise, tiny_model

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"
RAW = ("\x1b", "\x07", "\r", "\x9b")


def no_control(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"{ch!r} reached the terminal: {text!r}"


def test_file_and_class_names_are_escaped_in_classify_info_and_evaluate(tmp_path, capsys):
    classes = [f"red{OSC52}", "green\rover", "blue\nline"]
    checkpoint = write_checkpoint(tmp_path / "hostile.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=classes, small_input=True, preprocessing=TINY))
    picture = save_noise(tmp_path / f"plate{OSC52}\rfake.png", seed=3)
    assert main(["classify", str(picture), "--checkpoint", str(checkpoint)]) == 0
    out, err = capsys.readouterr()
    no_control(out + err)
    assert "\\x1b]52" in out  # shown, escaped: the user sees what the name holds
    assert main(["classify", str(picture), "--checkpoint", str(checkpoint), "--json"]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["path"] == str(picture) and first["top_k"][0]["label"] in classes  # JSON stays exact
    assert main(["info", str(checkpoint)]) == 0
    out, err = capsys.readouterr()
    no_control(out + err)
    assert "red\\x1b]52" in out and "blue\\nline" in out
    # evaluate: class folders named with escapes
    for name in classes:
        folder = tmp_path / "test" / name.replace("\n", "_")
        save_noise(folder / "a.png", seed=1)
    main(["evaluate", str(tmp_path / "test"), "--checkpoint", str(checkpoint)])
    out, err = capsys.readouterr()
    no_control(out + err)


def test_class_names_in_a_model_card_are_text_not_html(tmp_path, capsys):
    """A card (info --card, the bioimage.io README) with a class named <script> or <img onerror>."""
    import html

    classes = ["<script>alert(1)</script>", '<img src=x onerror="fetch(1)">', "a|b *bold* [link](http://x)"]
    checkpoint = write_checkpoint(tmp_path / "card <b>name</b>.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=classes, small_input=True, preprocessing=TINY))
    assert main(["info", "--card", str(checkpoint)]) == 0
    card = capsys.readouterr().out
    for raw in ("<script>", "<img", "<b>", "[link](", "*bold*"):
        assert raw not in card, raw
    assert "&lt;script&gt;" in card and "&lt;img src=x onerror=&quot;fetch\\(1\\)&quot;&gt;" in card
    assert html.unescape("a\\|b \\*bold\\*".replace("\\", "")) == "a|b *bold*"
