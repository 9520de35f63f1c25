"""Small inline SVG charts for the HTML report: horizontal bars, and counts over time.

Plain SVG text generated here: no JavaScript, no library, no font to download, so the report opens
from disk on a machine without internet. Every label is escaped (it may hold user data).
"""

from __future__ import annotations

from html import escape
from typing import Any

FONT = 'font-family="system-ui,-apple-system,\'Segoe UI\',sans-serif" font-size="12"'
MIN_BUCKETS = 3
GREEN, BLUE, AMBER, RED, GREY = "#2e7d32", "#1565c0", "#ef8f00", "#c62828", "#90a4ae"


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#263238", bold: bool = False) -> str:
    weight = ' font-weight="600"' if bold else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{weight}>{escape(text)}</text>'


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bars(
    items: list[tuple[str, int]], *, color: str = RED, width: int = 760, label_chars: int = 62, title: str = ""
) -> str:
    """One horizontal bar per (label, count), longest first as given; labels left of the bars."""
    if not items:
        return ""
    row, label_w, top = 22, 430, 8
    bar_w = width - label_w - 60
    most = max(count for _, count in items) or 1
    height = top + row * len(items) + 4
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT}><title>{escape(title)}</title>'
    ]
    for i, (label, count) in enumerate(items):
        y = top + i * row
        length = max(2.0, bar_w * count / most)
        parts.append(_text(label_w - 8, y + 14, _clip(label, label_chars), anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{length:.1f}" height="{row - 6}" rx="3" fill="{color}"/>')
        parts.append(_text(label_w + length + 6, y + 14, f"{count:,}", bold=True))
    parts.append("</svg>")
    return "".join(parts)


def _series(timeline: dict[str, Any], name: str) -> tuple[list[int], list[int], int]:
    """(bucket starts, values, bucket width) of one column, with empty buckets filled in as zeros."""
    columns, rows = timeline.get("columns", []), timeline.get("rows", [])
    width = int(timeline.get("bucket_s", 1)) or 1
    if not rows or name not in columns:
        return [], [], width
    at = {int(r[0]): int(r[columns.index(name)]) for r in rows}
    starts = list(range(0, max(at) + width, width))
    return starts, [at.get(t, 0) for t in starts], width


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def over_time(timeline: dict[str, Any], *, width: int = 760) -> str:
    """Records accepted per second (bars), and retries and 429 answers per bucket below, on one time axis."""
    starts, accepted, bucket = _series(timeline, "accepted")
    if len(starts) < MIN_BUCKETS:  # a run of a second or two: the numbers say more than a bar
        return ""
    _, retries, _ = _series(timeline, "retries")
    _, throttled, _ = _series(timeline, "throttled")
    left, right, top, main_h, gap, small_h = 56, 12, 18, 130, 34, 50
    plot_w = width - left - right
    height = top + main_h + gap + small_h + 24
    step = plot_w / len(starts)
    bar = max(1.0, step * 0.8)
    rate = [a / bucket for a in accepted]
    peak = max(rate) or 1
    worst = max(max(r, t) for r, t in zip(retries, throttled, strict=True)) or 1
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT}><title>Sending over time</title>'
    ]
    parts.append(_text(left, top - 6, "records accepted per second", fill=GREEN, bold=True))
    base = top + main_h
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#b0bec5"/>')
    parts.append(_text(left - 6, top + 10, f"{peak:,.0f}", anchor="end"))
    parts.append(_text(left - 6, base, "0", anchor="end"))
    for i, value in enumerate(rate):
        h = main_h * value / peak
        if h > 0:
            parts.append(
                f'<rect x="{left + i * step:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{GREEN}"/>'
            )
    small_top = base + gap
    small_base = small_top + small_h
    parts.append(_text(left, small_top - 6, "retries", fill=AMBER, bold=True))
    parts.append(_text(left + 60, small_top - 6, "429 answers (slow down)", fill=RED, bold=True))
    parts.append(f'<line x1="{left}" y1="{small_base}" x2="{left + plot_w}" y2="{small_base}" stroke="#b0bec5"/>')
    parts.append(_text(left - 6, small_top + 10, f"{worst:,}", anchor="end"))
    parts.append(_text(left - 6, small_base, "0", anchor="end"))
    for i, (r, t) in enumerate(zip(retries, throttled, strict=True)):
        x = left + i * step
        h_t = small_h * t / worst
        h_r = small_h * r / worst
        if h_t > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{small_base - h_t:.1f}" width="{bar:.1f}" height="{h_t:.1f}" fill="{RED}"/>'
            )
        if h_r > h_t:  # retries include the retried 429s: the amber part is the other retries
            parts.append(
                f'<rect x="{x:.1f}" y="{small_base - h_r:.1f}" width="{bar:.1f}" height="{h_r - h_t:.1f}" '
                f'fill="{AMBER}"/>'
            )
    end = starts[-1] + bucket
    parts.append(_text(left, small_base + 16, "0 s"))
    parts.append(_text(left + plot_w / 2, small_base + 16, _duration(end / 2), anchor="middle"))
    parts.append(_text(left + plot_w, small_base + 16, _duration(end), anchor="end"))
    parts.append("</svg>")
    return "".join(parts)
