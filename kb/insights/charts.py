"""Dashboard charts as standalone SVG documents. pygal is used only in this module.

The SVG is served on its own (``image/svg+xml``) and shown with ``<img>``: an image document
runs no script and its own ``<style>`` applies inside it, so the page's CSP can stay strict.
pygal writes a ``<script>`` with its tooltip configuration even when ``js=[]``; an XML filter
removes every script element, so the output never contains one, however it is served.
"""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from pygal.style import Style

# The site's colours (kb.css): brand green first, then contrasting hues.
_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1c2430",
    foreground_strong="#1c2430",
    foreground_subtle="#5b6675",
    font_family="system-ui, 'Segoe UI', Tahoma, 'Noto Sans Arabic', sans-serif",
    title_font_size=18,
    legend_font_size=14,
    label_font_size=12,
    major_label_font_size=12,
    colors=("#0b7a5f", "#2b6cb0", "#b7791f", "#c53030", "#6b46c1", "#4a5568"),
)
# Above this many buckets only every n-th x label is written, so labels never overlap.
_MAX_X_LABELS = 16

Series = tuple[str, Sequence[float | None]]


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool = False,
) -> bytes:
    """A line per series over the x labels; None values are gaps (no data), not zeros."""
    chart = pygal.Line(
        **_config(title, len(x_labels)),
        range=(0, 1) if percent else None,
        value_formatter=_percent if percent else _number,
        allow_interruptions=True,
    )
    return _render(chart, x_labels, series)


def bar_chart(title: str, x_labels: Sequence[str], series: Sequence[Series]) -> bytes:
    """Vertical bars, one group per x label."""
    chart = pygal.Bar(**_config(title, len(x_labels)), value_formatter=_number)
    return _render(chart, x_labels, series)


def _config(title: str, count: int) -> dict:
    every = max(1, -(-count // _MAX_X_LABELS))
    return {
        "title": title,
        "style": _STYLE,
        "js": [],
        "width": 800,
        "height": 360,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 4,
        "x_label_rotation": 30 if count > 7 else 0,
        "x_labels_major_every": every,
        "show_minor_x_labels": every == 1,
        "truncate_legend": -1,
        "truncate_label": -1,
        "min_scale": 2,
        "print_values": False,
        "no_data_text": "—",
    }


def _render(chart, x_labels: Sequence[str], series: Sequence[Series]) -> bytes:
    chart.x_labels = list(x_labels)
    for name, values in series:
        chart.add(name, list(values))
    chart.add_xml_filter(_without_scripts)
    return chart.render()


def _without_scripts(root):
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
