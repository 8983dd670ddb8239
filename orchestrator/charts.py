"""The report's matplotlib charts, each returned as PNG bytes to embed in the page.

One colour per runner across every chart (Okabe-Ito, a colour-blind-safe palette), units on every axis.
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


def _plain_text(chart: Callable[..., bytes | None]) -> Callable[..., bytes | None]:
    """A chart whose texts are drawn as given: a runner named `$\\foo$` is that text, not mathtext (which would
    fail to render it, or render something else). Tick labels are made when the figure is drawn, so the setting
    holds until the PNG is written."""
    @functools.wraps(chart)
    def plain(*args: Any, **kwargs: Any) -> bytes | None:
        with matplotlib.rc_context({"text.parse_math": False}):
            return chart(*args, **kwargs)
    return plain


def _legend_label(text: str) -> str:
    """matplotlib leaves a label that starts with `_` out of the legend: a runner named so keeps its entry."""
    return "\u200b" + text if text.startswith("_") else text


def _png(fig: plt.Figure) -> bytes:
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


@_plain_text
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
    return _png(fig)


@_plain_text
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
    return _png(fig)


@_plain_text
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
                    ax.plot(*thin_series([s.t_s for s in samples], [s.rss_bytes / 2**20 for s in samples]),
                            color=colours[cell.info["runner"]], alpha=0.8, linewidth=1,
                            label=_legend_label(cell.info["runner"]) if k == 0 else None)
        _label_panel(ax, _title(group, _), _("time since process start (s)"), _("resident memory (MiB)"))
    fig.tight_layout()
    return _png(fig)


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


def _by_runner(summaries: list[dict[str, Any]], scenario: str) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for s in summaries:
        if s.get("scenario") == scenario:
            groups.setdefault((s["runner"], s["scenario_name"], s["model"], s["threads"]), []).append(s)
    return groups


@_plain_text
def throughput_vs_workers(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate = _same
                          ) -> bytes | None:
    """Concurrency: images per second and p99 latency against the worker count, one line per runner."""
    groups = {k: v for k, v in _by_runner(summaries, "concurrency").items() if any(s["throughput_ips"] for s in v)}
    if not groups:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for (runner, scenario, model, threads), cells in groups.items():
        cells = sorted((c for c in cells if c["throughput_ips"]), key=lambda c: c["workers"])
        dashed = "--" if scenario != "concurrency" else "-"
        style = {"color": colours.get(runner, "#000000"), "marker": "o", "linestyle": dashed,
                 "label": f"{runner} ({scenario}, {model}, {threads}t)"}
        left.plot([c["workers"] for c in cells], [c["throughput_ips"] for c in cells], **style)
        right.plot([c["workers"] for c in cells], [c["latency_ms"]["p99"] for c in cells], **style)
    left.set_ylabel(_("throughput (images/s)"))
    right.set_ylabel(_("p99 latency per image (ms)"))
    for ax in (left, right):
        ax.set_xlabel(_("workers"))
        ax.grid(alpha=0.3)
    left.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


@_plain_text
def latency_vs_rate(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """Server: p50 and p99 latency (arrival to result) against the offered request rate."""
    groups = {k: v for k, v in _by_runner(summaries, "server").items() if any(s["latency_ms"] for s in v)}
    if not groups:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for (runner, _scenario, model, threads), cells in groups.items():
        cells = sorted((c for c in cells if c["latency_ms"]), key=lambda c: (c["workers"], c["offered_rate"]))
        for workers in sorted({c["workers"] for c in cells}):
            row = [c for c in cells if c["workers"] == workers]
            colour = colours.get(runner, "#000000")
            rates = [c["offered_rate"] for c in row]
            name = f"{runner} ({model}, {threads}t, w={workers})"
            ax.plot(rates, [c["latency_ms"]["p99"] for c in row], marker="o", color=colour, label=f"{name} p99")
            ax.plot(rates, [c["latency_ms"]["p50"] for c in row], marker=".", linestyle="--", color=colour,
                    label=f"{name} p50")
        bound = cells[0].get("p99_bound_ms") if cells else None
        if bound:
            ax.axhline(bound, color="#b30000", linewidth=1, linestyle=":")
    ax.set_xlabel(_("offered rate (requests/s)"))
    ax.set_ylabel(_("latency, arrival to result (ms)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


@_plain_text
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
    return _png(fig)


@_plain_text
def latency_ecdf(cells: list[CellData], colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """Empirical CDF of the latency per image: every percentile of every runner at once, tails included."""
    groups = [g for g in _groups(cells) if any(len(c.measured_ms()) for c in cells if _key(c) == g)]
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for ax, group in zip(axes[0], groups):
        for cell in (c for c in cells if _key(c) == group and len(c.measured_ms())):
            ax.step(*ecdf_points(cell.measured_ms()), where="post",
                    color=colours[cell.info["runner"]], label=_legend_label(cell.info["runner"]))
        _label_panel(ax, _title(group, _), _("latency per image (ms)"), _("fraction of iterations"))
    fig.tight_layout()
    return _png(fig)


def _http_groups(summaries: list[dict[str, Any]], load: str) -> dict[tuple, list[dict[str, Any]]]:
    """http cells of one load kind (open: by rate, closed: by clients), per runner, model, threads, networks."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for s in summaries:
        if s.get("scenario") == "http" and s.get("load") == load and s.get("client_ms"):
            groups.setdefault((s["runner"], s["model"], s["threads"], s["workers"]), []).append(s)
    return groups


@_plain_text
def http_open_loop(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """http, open loop: answered against offered rate (left) and client p50/p99 against offered rate (right)."""
    groups = _http_groups(summaries, "open")
    if not groups:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    top = 0.0
    for (runner, model, threads, workers), cells in groups.items():
        cells = sorted(cells, key=lambda c: c["offered_rate"])
        rates = [c["offered_rate"] for c in cells]
        top = max(top, *rates)
        colour, name = colours.get(runner, "#000000"), f"{runner} ({model}, {threads}t, K={workers})"
        left.plot(rates, [c["achieved_rps"] or 0 for c in cells], marker="o", color=colour, label=_legend_label(name))
        right.plot(rates, [c["client_ms"]["p99"] for c in cells], marker="o", color=colour, label=f"{name} p99")
        right.plot(rates, [c["client_ms"]["p50"] for c in cells], marker=".", linestyle="--", color=colour)
    left.plot([0, top], [0, top], color="#999999", linewidth=1, linestyle=":")  # every request answered
    bound = next((c.get("p99_bound_ms") for cells in groups.values() for c in cells if c.get("p99_bound_ms")), None)
    if bound:
        right.axhline(bound, color="#b30000", linewidth=1, linestyle=":")
    left.set_ylabel(_("answered (requests/s)"))
    right.set_ylabel(_("client latency (ms)"))
    right.set_yscale("log")
    for ax in (left, right):
        ax.set_xlabel(_("offered rate (requests/s)"))
        ax.grid(alpha=0.3)
    left.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


@_plain_text
def http_closed_loop(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate = _same
                     ) -> bytes | None:
    """http, closed loop: client p50/p99 (left) and the server's peak RSS under load (right) against clients."""
    groups = _http_groups(summaries, "closed")
    if not groups:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for (runner, model, threads, workers), cells in groups.items():
        cells = sorted(cells, key=lambda c: c["clients"])
        clients = [c["clients"] for c in cells]
        colour, name = colours.get(runner, "#000000"), f"{runner} ({model}, {threads}t, K={workers})"
        left.plot(clients, [c["client_ms"]["p99"] for c in cells], marker="o", color=colour, label=f"{name} p99")
        left.plot(clients, [c["client_ms"]["p50"] for c in cells], marker=".", linestyle="--", color=colour)
        right.plot(clients, [c["server_peak_rss_mb"] or 0 for c in cells], marker="o", color=colour,
                   label=_legend_label(name))
    left.set_ylabel(_("client latency (ms)"))
    left.set_yscale("log")
    right.set_ylabel(_("server peak RSS under load (MiB)"))
    for ax in (left, right):
        ax.set_xlabel(_("concurrent clients"))
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    left.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


@_plain_text
def spawn_bars(summaries: list[dict[str, Any]], colours: dict[str, str], _: Translate = _same) -> bytes | None:
    """spawn: start-up, memory added and tasks per second of N sleeping workers, one bar per runner and N."""
    rows = [s for s in summaries if s.get("scenario") == "spawn" and s.get("startup_ms")]
    if not rows:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    labels = [f"{s['runner']}\nN={s['workers']}" for s in rows]
    for ax, key, ylabel in zip(axes, ("startup_ms", "rss_added_mb", "tasks_per_s"),
                               (_("start-up (ms)"), _("memory added (MiB)"), _("tasks per second"))):
        values = [s[key] or {} for s in rows]
        heights = [v.get("p50") or 0 for v in values]
        ci = [v.get("ci95") for v in values]
        errors = [[h - c[0] if c else 0 for h, c in zip(heights, ci)],
                  [c[1] - h if c else 0 for h, c in zip(heights, ci)]]
        ax.bar(labels, heights, yerr=errors, capsize=3, color=[colours.get(s["runner"], "#999999") for s in rows])
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


@_plain_text
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
    return _png(fig)
