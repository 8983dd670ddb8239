"""The report's matplotlib charts, each returned as PNG bytes to embed in the page.

One colour per runner across every chart (Okabe-Ito, a colour-blind-safe palette), units on every axis. The
charts of one scenario type are its kind's (orchestrator/kinds/<type>.py), drawn with the helpers here.
"""

from __future__ import annotations

import functools
import io
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402

from .protocol import PHASES  # noqa: E402
from .rundata import CellData  # noqa: E402
from .sampling import SampleTable  # noqa: E402

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
PHASE_COLOURS = {"decode": "#999999", "preprocess": "#56B4E9", "inference": "#0072B2", "postprocess": "#E69F00"}
DPI = 150
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC"]
Translate = Callable[[str], str]


def _same(text: str) -> str:
    return text


def use_language(lang: str) -> None:
    """Chinese labels need a CJK font: put the first one installed (Debian: fonts-noto-cjk) before the default."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if lang == "zh-CN" and not installed & set(CJK_FONTS):
        # matplotlib's font cache may predate the font's installation: add the system's CJK fonts by path.
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "wqy" in path.lower() or "msyh" in path.lower() or "simhei" in path.lower():
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [name for name in CJK_FONTS if name in installed] if lang == "zh-CN" else []
    matplotlib.rcParams["font.sans-serif"] = cjk + ["DejaVu Sans"]
    matplotlib.rcParams["font.family"] = "sans-serif"


def runner_colours(runners: list[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(runners)}


def plain_text(chart: Callable[..., bytes | None]) -> Callable[..., bytes | None]:
    """A chart whose texts are drawn as given: a runner named `$\\foo$` is that text, not mathtext (which would
    fail to render it, or render something else). Tick labels are made when the figure is drawn, so the setting
    holds until the PNG is written."""
    @functools.wraps(chart)
    def plain(*args: Any, **kwargs: Any) -> bytes | None:
        with matplotlib.rc_context({"text.parse_math": False}):
            return chart(*args, **kwargs)
    return plain


def legend_label(text: str) -> str:
    """matplotlib leaves a label that starts with `_` out of the legend: a runner named so keeps its entry."""
    return "\u200b" + text if text.startswith("_") else text


def png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _groups(cells: list[CellData]) -> list[tuple]:
    return list(dict.fromkeys(c.key for c in cells))


# Charts draw at most this many points per series: a long run's 10^6 iterations would take minutes to draw and
# show no more. Statistics always use every value; only the drawing is thinned.
MAX_POINTS = 2000


def thin_points(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded random subset of at most MAX_POINTS values (the scatter of a box plot keeps its shape)."""
    return values if len(values) <= MAX_POINTS else rng.choice(values, MAX_POINTS, replace=False)


def ecdf_points(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ECDF at evenly spaced ranks plus the top 500 ranks exactly, so the tail keeps every step."""
    x = np.sort(values)
    n = len(x)
    ranks = np.arange(n) if n <= MAX_POINTS else np.unique(np.concatenate(
        [np.linspace(0, n - 1, MAX_POINTS - 500).astype(int), np.arange(n - 500, n)]))
    return x[ranks], (ranks + 1) / n


def thin_series(t: list[float], y: list[float], budget: int = 400) -> tuple[list[float], list[float]]:
    """At most `budget` points of a time series (one of many lines in a 4-inch panel); each kept point is the
    maximum of its stretch, so a peak stays a peak."""
    step = -(-len(y) // budget)
    if step <= 1:
        return t, y
    return t[::step], [max(y[i:i + step]) for i in range(0, len(y), step)]


@plain_text
def latency_distribution(cells: list[CellData], colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """Box plot of every measured iteration, with the iterations as points (a random MAX_POINTS of them when
    there are more), per runner, one panel per model and thread count."""
    groups = [g for g in _groups(cells) if any(len(c.measured_ms()) for c in cells if _key(c) == g)]
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, group in zip(axes[0], groups):
        members = [c for c in cells if _key(c) == group and len(c.measured_ms())]
        data = [c.measured_ms() for c in members]
        ax.boxplot(data, showfliers=False, widths=0.5, medianprops={"color": "black"})
        for i, (cell, values) in enumerate(zip(members, data), 1):
            values = thin_points(values, rng)
            jitter = rng.uniform(-0.15, 0.15, len(values))
            ax.scatter(np.full(len(values), i) + jitter, values, s=8, alpha=0.6,
                       color=colours[cell.info["runner"]], zorder=3)
        ax.set_xticks(range(1, len(members) + 1), [c.info["runner"] for c in members], rotation=20)
        ax.set_title(_title(group, _), fontsize=10)
        ax.set_ylabel(_("latency per image (ms)"))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return png(fig)


@plain_text
def phase_breakdown(summaries: list[dict[str, Any]], _: Translate = _same) -> bytes | None:
    """Stacked bars of each phase's median per cell: where the time of one image goes."""
    rows = [s for s in summaries if s["phases_ms"]]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.4))
    labels = [f"{s['runner']} | {s['model']} | {s['threads']}t" + ("" if s["scenario_label"] == "single" else
                                                                  f" | {s['scenario_label']}") for s in rows]
    left = np.zeros(len(rows))
    for phase in PHASES:
        widths = np.array([s["phases_ms"][phase]["p50"] for s in rows])
        ax.barh(labels, widths, left=left, color=PHASE_COLOURS[phase], label=_(phase))
        left += widths
    ax.invert_yaxis()
    ax.set_xlabel(_("median time per image (ms)"))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return png(fig)


@plain_text
def memory_over_time(cells: list[CellData], colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """RSS sampled from outside over each process's life, one panel per model and thread count."""
    groups = [g for g in _groups(cells) if any(any(c.samples) for c in cells if _key(c) == g)]
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for ax, group in zip(axes[0], groups):
        for cell in (c for c in cells if _key(c) == group):
            for k, samples in enumerate(cell.samples):
                if samples:
                    table = SampleTable.of(samples)
                    ax.plot(*thin_series(table.t_s.tolist(), (table.rss_bytes / 2**20).tolist()),
                            color=colours[cell.info["runner"]], alpha=0.8, linewidth=1,
                            label=legend_label(cell.info["runner"]) if k == 0 else None)
        _label_panel(ax, _title(group, _), _("time since process start (s)"), _("resident memory (MiB)"))
    fig.tight_layout()
    return png(fig)


def _label_panel(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _key(cell: CellData) -> tuple:
    return cell.key


def _title(group: tuple, _: Translate) -> str:
    scenario, model, threads = group
    text = f"{model}, {threads} {_('thread(s)')}"
    return text if scenario == "single" else f"{scenario}, {text}"


def by_runner(summaries: list[dict[str, Any]], scenario: str) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for s in summaries:
        if s.get("scenario") == scenario:
            groups.setdefault((s["runner"], s["scenario_name"], s["model"], s["threads"]), []).append(s)
    return groups


@plain_text
def bars(summaries: list[dict[str, Any]], scenario: str, value: Any, ylabel: str,
         colours: dict[str, str]) -> bytes | None:
    """One bar per cell of a scenario (video FPS, ns per call, ...), with an error bar where a CI exists."""
    rows = [(s, value(s)) for s in summaries if s.get("scenario") == scenario]
    rows = [(s, v) for s, v in rows if v and v[0] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1.5), 3.4))
    labels = [f"{s['runner']}\n{s['model']}" if s["model"] != "-" else s["runner"] for s, _ in rows]
    heights = [v[0] for _, v in rows]
    errors = [[v[0] - v[1][0] if v[1] else 0 for _, v in rows], [v[1][1] - v[0] if v[1] else 0 for _, v in rows]]
    ax.bar(labels, heights, yerr=errors, capsize=4, color=[colours.get(s["runner"], "#999999") for s, _ in rows])
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return png(fig)


@plain_text
def latency_ecdf(cells: list[CellData], colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """Empirical CDF of the latency per image: every percentile of every runner at once, tails included."""
    groups = [g for g in _groups(cells) if any(len(c.measured_ms()) for c in cells if _key(c) == g)]
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for ax, group in zip(axes[0], groups):
        for cell in (c for c in cells if _key(c) == group and len(c.measured_ms())):
            ax.step(*ecdf_points(cell.measured_ms()), where="post",
                    color=colours[cell.info["runner"]], label=legend_label(cell.info["runner"]))
        _label_panel(ax, _title(group, _), _("latency per image (ms)"), _("fraction of iterations"))
    fig.tight_layout()
    return png(fig)


@plain_text
def machine_panels(machines: list[dict[str, Any]], value: Callable[[dict[str, Any]], tuple[Any, Any]], ylabel: str,
                   colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """A merged report's chart: one panel per machine (the facet), one bar per runner and model in each, with
    that machine's own CI. Panels share the y axis so that machines are read against each other by eye; no bar
    pools two machines."""
    panels = []
    for m in machines:
        rows = [(c, value(c)) for c in m["summary"]["cells"] if c.get("status") == "ok"]
        panels.append((m["name"], [(c, v) for c, v in rows if v and v[0] is not None]))
    if not any(rows for _name, rows in panels):
        return None
    width = max(len(rows) for _name, rows in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.0, 0.9 * width + 1.5) * len(panels), 3.6),
                             squeeze=False, sharey=True)
    for ax, (name, rows) in zip(axes[0], panels):
        labels = [f"{c['runner']}\n{c['model']}\n{c['threads']} thr" for c, _v in rows]
        heights = [v[0] for _c, v in rows]
        errors = [[v[0] - v[1][0] if v[1] else 0 for _c, v in rows], [v[1][1] - v[0] if v[1] else 0 for _c, v in rows]]
        ax.bar(labels, heights, yerr=errors, capsize=4, color=[colours.get(c["runner"], "#999999") for c, _v in rows])
        ax.set_title(f"{_('machine')} {name}", fontsize=10)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    fig.tight_layout()
    return png(fig)
