"""report.html: one self-contained page (charts embedded as data URIs, no external request), jinja2 autoescaped.

`render(run_dir)` needs only the run folder, so `orchestrator report RUN_DIR` re-renders an old run.
"""

from __future__ import annotations

import base64
import shlex
import sys
from pathlib import Path
from typing import Any

import jinja2

from . import charts, exports, i18n, rundata
from . import summary as summary_mod
from .kinds import KINDS, sections
from .messages import Message, msg
from .runfolder import RunFolder

TEMPLATES = Path(__file__).parent / "templates"


def render(run_dir: Path, lang: str | None = None) -> Path:
    """Rebuild summary.json/csv/md and report.html from the run folder's raw data; returns the page's path.

    `lang` (en or zh-CN) overrides the config's `report.lang`."""
    run = rundata.load(run_dir)  # the one read of the folder
    for problem in run.problems:  # said where it is seen too, not only inside the page
        print(f"warning: {problem}", file=sys.stderr)
    summary = summary_mod.build(run)
    exports.write_all(run_dir, summary)
    config, environment, cells = run.config, run.environment, run.cells
    lang = lang or config.lang
    _ = i18n.translator(lang)
    charts.use_language(lang)
    runners = [r.name for r in config.runners]
    colours = charts.runner_colours(runners)
    images = {
        "latency": charts.latency_distribution(cells, colours, _),
        "ecdf": charts.latency_ecdf(cells, colours, _),
        "phases": charts.phase_breakdown(summary["cells"], _),
        "memory": charts.memory_over_time(cells, colours, _),
    }
    for kind in KINDS.values():  # each scenario type's own charts, by the names its section uses
        images.update(kind.charts(summary["cells"], cells, colours, _))
    page = _environment(_).get_template("report.html.j2").render(
        lang=lang,
        s=summary,
        config=config,
        env={"logical_cpus": "?", "os": _("unknown OS"), "git": None, **environment},  # a lost environment.json
        runtimes=_runtimes(cells),
        charts={k: _data_uri(v) for k, v in images.items() if v},
        groups=exports.by_group(exports.article_cells(summary["cells"])),
        by_type=_by_type(summary["cells"]),
        sections=sections(),
        pairs=_pairs(summary["comparisons"]),
        samples=sum((c["memory_mb"] or {}).get("samples", 0) for c in summary["cells"]),
        counts=", ".join(f"{c['runner']} {c['scenario_label']} {c['model']}: n = {c['processes']} processes x "
                         f"{_per_process(c)} iterations" for c in summary["cells"] if c["iterations"]),
        sampler_cost=_sampler_cost(summary["cells"]),
        build_warning=_build_warning(summary),
        reproduce=_reproduce(run_dir, environment),
        colours=colours,
        damaged=run.problems,
    )
    return exports.write_atomic(RunFolder(run_dir).derived("report.html"), page, run_dir)


def _environment(_: Any) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, extensions=["jinja2.ext.do"],
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["ms"] = _fixed
    env.globals["_"] = _
    env.globals["verdict_class"] = _verdict_class
    return env


def _fixed(value: Any, digits: int = 1) -> str:
    """A number with `digits` decimals, or n/a for a missing value (a failed cell has no latency)."""
    if value is None or isinstance(value, jinja2.Undefined):
        return "n/a"
    return f"{value:.{digits}f}"


def _verdict_class(entry: dict[str, Any]) -> str:
    """The colour of a verdict: a difference shown (ok), no verdict at all (bad), the rest plain."""
    return {"faster": "ok", "no_verdict": "bad", "too_few_rounds": "bad"}.get(entry.get("outcome", ""), "na")


def _per_process(cell: dict[str, Any]) -> str:
    """Iterations per process: one number when every process measured the same count."""
    n, k = cell["iterations"], cell["processes"]
    return f"{n // k}" if k and n % k == 0 else f"~{n / max(k, 1):.0f}"


def _sampler_cost(cells: list[dict[str, Any]]) -> str:
    costs = [c["sampler_cpu_percent"] for c in cells if c.get("sampler_cpu_percent")]
    during = [x["measuring"] for x in costs if x.get("measuring") is not None]
    whole = [x["whole"] for x in costs if x.get("whole") is not None]
    if not during:
        return "not measured in this run"
    return (f"at most {max(during):.2f} % of one core while the runners iterated ({max(whole):.2f} % over whole "
            "processes, start-up included, where it samples faster)")


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _runtimes(cells: list[summary_mod.CellData]) -> list[dict[str, Any]]:
    """One row per runner: language version and OpenCV build, from the runners' own hello records."""
    seen: dict[str, dict[str, Any]] = {}
    for cell in cells:
        hello = cell.hello()
        if hello and cell.info["runner"] not in seen:
            seen[cell.info["runner"]] = {"runner": cell.info["runner"], "language": hello["language"],
                                         "language_version": hello["language_version"],
                                         "opencv_version": hello["opencv_version"],
                                         "build_hash": hello["opencv_build_hash"],
                                         "build_info": hello["opencv_build_info"],
                                         "numpy_version": hello.get("numpy_version")}
    return list(seen.values())


def _by_type(cells: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in cells:
        out.setdefault(c["scenario"], []).append(c)
    return out


def _pairs(comparisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparison entries grouped by pair, model and thread count: one table row each."""
    rows: dict[tuple, dict[str, Any]] = {}
    for e in comparisons:
        row = rows.setdefault((e["a"], e["b"], e["scenario"], e["model"], e["threads"]),
                              {"a": e["a"], "b": e["b"], "scenario": e["scenario"], "model": e["model"],
                               "threads": e["threads"], "fair": e["fair"], "fairness": e["fairness"]})
        row[e["metric"]] = e
    return list(rows.values())


def _build_warning(summary: dict[str, Any]) -> list[Message]:
    """Compared runners that do not share one OpenCV build: their difference is partly the library's."""
    pairs = dict.fromkeys((p["a"], p["b"]) for p in summary["parity"] if p["same_build"] is False)
    return [msg("different_builds", a=a, b=b) for a, b in pairs]


def _reproduce(run_dir: Path, environment: dict[str, Any]) -> str:
    commit = (environment.get("git") or {}).get("commit", "")
    lines = [f"git checkout {commit}" if commit else "# the run was made outside a git checkout",
             "make setup models data",
             f"# {run_dir.name}/config.yaml is this run's config, resolved; run it again with",
             f"python -m orchestrator run {shlex.quote(run_dir.name)}/config.yaml"]
    return "\n".join(lines)


def render_merged(summary: dict[str, Any], runs: dict[str, rundata.Run], lang: str) -> str:
    """The page of `orchestrator merge`: the machines side by side, each figure one machine's (merge.py)."""
    _ = i18n.translator(lang)
    charts.use_language(lang)
    runner_names = list(dict.fromkeys(c["runner"] for m in summary["machines"] for c in m["summary"]["cells"]))
    colours = charts.runner_colours(runner_names)
    machines = []
    for m in summary["machines"]:
        run = runs[m["name"]]
        machines.append({**m, "s": m["summary"], "env": {"git": None, **run.environment},
                         "runtimes": _runtimes(run.cells), "pairs": _pairs(m["summary"]["comparisons"]),
                         "damaged": run.problems, "threads": sorted({c.info["threads"] for c in run.cells})})

    def latency(c: dict[str, Any]) -> tuple[Any, Any]:
        level = (c.get("latency_ms") or {}).get("process_median") or {}
        return level.get("center"), level.get("ci95")

    images = {
        "latency": charts.machine_panels(summary["machines"], latency, _("median latency per image (ms)"), colours,
                                         _),
        "memory": charts.machine_panels(summary["machines"], lambda c: ((c.get("memory_mb") or {}).get("peak_rss"),
                                                                        None), _("peak RSS (MiB)"), colours, _),
    }
    folders = " ".join(shlex.quote(m["run"]) for m in summary["machines"])
    reproduce = "\n".join(["# on each machine, the same config:",
                           "make setup models data",
                           "python -m orchestrator run CONFIG --machine NAME --out RUN_DIR",
                           "# then, with every machine's run folder at hand (here: copied into this folder):",
                           f"python -m orchestrator merge {folders} --out merged"])
    return _environment(_).get_template("merge.html.j2").render(
        lang=lang, s=summary, machines=machines, charts={k: _data_uri(v) for k, v in images.items() if v},
        reproduce=reproduce)
