"""The check's report as one self-contained HTML page: the advice, the counts, and each finding with
thumbnails of its pictures (PNG data in the page itself, so the page can be mailed or archived alone). No torch."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

from resnet_gui.core.atomic_write import atomic_write
from resnet_gui.core.audit.findings import KINDS, TITLES, AuditReport
from resnet_gui.core.images.files import ImageDecodeError, load_rgb

THUMBNAIL = 112
PAGE_NAME = "audit.html"
MAX_SHOWN = 200  # findings of one kind with thumbnails; the rest are listed by name

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.advice li { margin: 4px 0; } table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.finding { margin: 10px 0; padding: 8px; background: #f7f7f7; border-radius: 6px; }
.pictures { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 6px; }
figure { margin: 0; width: 120px; font-size: 11px; word-break: break-all; }
figure img { width: 112px; height: 112px; object-fit: contain; background: #ddd; display: block; }
.missing { width: 112px; height: 112px; background: #eee; display: flex; align-items: center; justify-content: center; }
"""


def _thumbnail(path: str) -> str | None:
    try:
        image = load_rgb(path, draft_size=THUMBNAIL)
    except ImageDecodeError:
        return None
    image.thumbnail((THUMBNAIL, THUMBNAIL))
    data = io.BytesIO()
    image.save(data, "PNG")
    return "data:image/png;base64," + base64.b64encode(data.getvalue()).decode("ascii")


def report_html(report: AuditReport, title: str) -> str:
    e = html.escape
    splits = sorted(report.counts, key=lambda s: ("train", "val", "test").index(s) if s in ("train", "val", "test")
                    else 9)
    classes = sorted({c for split in report.counts.values() for c in split})
    rows = "".join(f"<tr><td>{e(c)}</td>" + "".join(f"<td>{report.counts[s].get(c, 0)}</td>" for s in splits)
                   + "</tr>" for c in classes)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{e(title)}</h1>",
             f"<p>{report.pictures} picture(s) checked in {report.seconds:.1f} s.</p>",
             "<ul class='advice'>" + "".join(f"<li>{e(line)}</li>" for line in report.advice()) + "</ul>",
             "<h2>Pictures per class</h2><table><tr><th>class</th>"
             + "".join(f"<th>{e(s)}</th>" for s in splits) + f"</tr>{rows}</table>"]
    for kind in KINDS:
        findings = report.of_kind(kind)
        if not findings:
            continue
        parts.append(f"<h2 id='{kind}'>{e(TITLES[kind])} ({len(findings)})</h2>")
        for number, finding in enumerate(findings):
            figures = []
            for picture in finding.pictures:
                source = _thumbnail(picture.path) if number < MAX_SHOWN else None
                shown = f"<img src='{source}' alt=''>" if source else "<div class='missing'>no picture</div>"
                figures.append(f"<figure>{shown}<figcaption>{e(picture.split)}/{e(picture.label)}<br>"
                               f"{e(os.path.basename(picture.path))}</figcaption></figure>")
            parts.append(f"<div class='finding'>{e(finding.text)}"
                         + (f"<div class='pictures'>{''.join(figures)}</div>" if figures else "") + "</div>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report_page(report: AuditReport, folder: str | os.PathLike, title: str) -> Path:
    """DIR/audit.html, written whole or not at all."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PAGE_NAME
    with atomic_write(target, "w", encoding="utf-8") as stream:
        stream.write(report_html(report, title))
    return target
