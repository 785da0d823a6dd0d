"""A self-contained HTML evaluation report: figures, confusion matrix, ROC and PR curves, mistakes.

Pictures are inline SVG and base64 PNG thumbnails, so the one file can be
mailed or archived and still shows everything.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_gui.core.atomic_write import atomic_write
from resnet_gui.core.text import display_path, figure, short_label

PALETTE = ["#3477c8", "#e07b1f", "#2e9e4a", "#c8344a", "#7b4fc8", "#8c6d31", "#d660b0", "#5f6b73",
           "#1fa8b8", "#a8b81f"]


def _e(text) -> str:
    return html.escape(display_path(str(text)))  # a file name that is not UTF-8 shows its bytes as \xNN


def confusion_svg(matrix: list[list[int]], classes: list[str], cell: int | None = None) -> str:
    """The matrix as SVG, readable up to 30 classes: smaller cells, shortened names and no counts where
    they would not fit; every cell and name carries its full text as a hover title."""
    n = len(classes)
    cell = cell or (44 if n <= 10 else max(20, 440 // n))
    room = 20 if cell >= 30 else 12
    m = np.asarray(matrix, dtype=float)
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    label_w = min(8 * room, 8 * max(len(c) for c in classes)) + 16
    size_w, size_h = label_w + n * cell + 10, label_w + n * cell + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_w}" height="{size_h}" font-family="sans-serif" '
             f'font-size="12">']
    for i in range(n):
        for j in range(n):
            x, y = label_w + j * cell, 20 + i * cell
            shade = int(255 - 180 * share[i, j])
            # right answers in green, mistakes in red, darker for a larger share of the true class
            fill = f"rgb({shade},{min(255, shade + 40)},{shade})" if i == j else f"rgb(255,{shade},{shade})"
            colour = "white" if share[i, j] > 0.55 else "#222"
            title = f"<title>true {_e(classes[i])}, predicted {_e(classes[j])}: {int(m[i, j])}</title>"
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" stroke="#ccc">'
                         f'{title}</rect>')
            if cell >= 26:
                parts.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                             f'fill="{colour}">{int(m[i, j])}</text>')
        parts.append(f'<text x="{label_w - 6}" y="{20 + i * cell + cell / 2 + 4}" text-anchor="end">'
                     f'<title>{_e(classes[i])}</title>{_e(short_label(classes[i], room))}</text>')
    for j in range(n):
        x = label_w + j * cell + cell / 2
        y = 24 + n * cell
        parts.append(f'<text transform="translate({x},{y}) rotate(45)" text-anchor="start">'
                     f'<title>{_e(classes[j])}</title>{_e(short_label(classes[j], room))}</text>')
    parts.append(f'<text x="{label_w + n * cell / 2}" y="12" text-anchor="middle" fill="#555">predicted class '
                 '→ (rows: true class)</text></svg>')
    return "".join(parts)


def curves_svg(series: list[tuple[str, list[float], list[float]]], x_label: str, y_label: str,
               diagonal: bool = False, size: int = 300) -> str:
    pad = 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + pad + 10}" height="{size + pad + 10}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect x="{pad}" y="10" width="{size}" height="{size}" fill="white" stroke="#999"/>']
    for t in (0.25, 0.5, 0.75):
        parts.append(f'<line x1="{pad + t * size}" y1="10" x2="{pad + t * size}" y2="{10 + size}" stroke="#eee"/>')
        parts.append(f'<line x1="{pad}" y1="{10 + t * size}" x2="{pad + size}" y2="{10 + t * size}" stroke="#eee"/>')
    if diagonal:
        parts.append(f'<line x1="{pad}" y1="{10 + size}" x2="{pad + size}" y2="10" stroke="#bbb" '
                     'stroke-dasharray="4 3"/>')
    for k, (name, xs, ys) in enumerate(series):
        points = " ".join(f"{pad + x * size:.1f},{10 + (1 - y) * size:.1f}" for x, y in zip(xs, ys, strict=False))
        colour = PALETTE[k % len(PALETTE)]
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{pad + 8}" y="{size - 6 - 14 * (len(series) - 1 - k)}" fill="{colour}">'
                     f'{_e(name)}</text>')
    parts.append(f'<text x="{pad + size / 2}" y="{size + 36}" text-anchor="middle">{_e(x_label)}</text>')
    parts.append(f'<text transform="translate(12,{10 + size / 2}) rotate(-90)" text-anchor="middle">{_e(y_label)}'
                 '</text></svg>')
    return "".join(parts)


def thumbnail_data_uri(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_html(report: dict, gallery_limit: int = 60) -> str:
    classes = report["classes"]
    per_class = report["per_class"]
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{figure(f['precision'])}</td><td>{figure(f['recall'])}</td>"
        f"<td>{figure(f['f1'])}</td><td>{f['support']}</td><td>{figure(report['roc_auc'].get(name))}</td>"
        f"<td>{figure(report['average_precision'].get(name))}</td></tr>"
        for name, f in per_class.items()
    )
    curves = report.get("curves", {})
    roc = curves_svg([(f"{n} (AUC {c['roc']['auc']:.3f})", c["roc"]["fpr"], c["roc"]["tpr"])
                      for n, c in curves.items()],
                     "false positive rate", "true positive rate", diagonal=True)
    pr = curves_svg([(f"{n} (AP {c['pr']['average_precision']:.3f})", c["pr"]["recall"], c["pr"]["precision"])
                     for n, c in curves.items()], "recall", "precision")
    mistakes = sorted(report.get("mistakes", []), key=lambda m: -m["confidence"])[:gallery_limit]
    gallery = "".join(
        f'<figure><img src="{m["thumbnail"]}" alt=""><figcaption><b>{_e(m["predicted"])}</b> '
        f'{m["confidence"]:.0%}<br>true: {_e(m["true"])}<br><small>{_e(os.path.basename(m["path"]))}</small>'
        "</figcaption></figure>"
        for m in mistakes if m.get("thumbnail")
    )
    skipped = "".join(f"<li>{_e(s['path'])}: {_e(s['error'])}</li>" for s in report.get("skipped", []))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evaluation report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }} h2 {{ margin-top: 1.6em; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 2em; }}
figure {{ display: inline-block; width: 132px; margin: 6px; vertical-align: top; font-size: 12px; }}
figure img {{ width: 128px; height: 128px; object-fit: contain; background: #f4f4f4; border: 1px solid #ddd; }}
.big {{ font-size: 28px; font-weight: bold; }}
</style></head><body>
<h1>Evaluation report</h1>
<p>Model: <code>{_e(report.get("checkpoint", ""))}</code><br>Data: <code>{_e(report.get("data_dir", ""))}</code></p>
<p><span class="big">{report["accuracy"]:.1%}</span> accuracy on {report["samples"]} images
(macro ROC AUC {figure(report.get("macro_roc_auc"))}).</p>
<h2>Per class</h2>
<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>ROC AUC</th>
<th>average precision</th></tr>{rows}</table>
<h2>Confusion matrix</h2>{confusion_svg(report["confusion_matrix"], classes)}
<h2>ROC and precision-recall curves (one class against the rest)</h2>
<div class="charts">{roc}{pr}</div>
<h2>Mistakes, most confident first ({len(report.get("mistakes", []))} in all)</h2>
<div>{gallery or "<p>No mistakes.</p>"}</div>
{"<h2>Files that could not be read</h2><ul>" + skipped + "</ul>" if skipped else ""}
</body></html>
"""


def write_report(report: dict, folder: str | os.PathLike) -> Path:
    """Write index.html into `folder` (created if needed), atomically."""
    path = Path(folder) / "index.html"
    with atomic_write(path, "w", encoding="utf-8") as stream:
        stream.write(render_html(report))
    return path
