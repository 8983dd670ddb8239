"""`merge RUN_DIR... --out DIR`: several machines' runs of one experiment in one appendix.

asv's model: each machine measures on its own, the results are collated offline. Each run folder is copied whole
into DIR/machines/<machine>/ (its own report re-rendered there), so the appendix is self-contained and movable;
DIR/report.html and DIR/summary.json put the machines side by side. Statistics are never pooled across machines:
every figure is one machine's, computed by that machine's run, and the machine is a column of every table and a
panel of every chart. The one figure that spans two machines is the "same runner, machine A vs B" ratio: Welch's
test on the log process medians of the two cells (history.compare, the statistic of `diff`), Holm-corrected.

Runs of different experiments are refused (machine.experiment_sha256) unless `allow_different` is set; the page
then says so at the top.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import exports, history, machine, report, rundata
from .errors import UserError
from .runfolder import RunFolder

SCHEMA = 1
DIR = "machines"  # DIR/machines/<machine>/: each machine's run folder, copied whole


@dataclass(frozen=True)
class Member:
    """One machine of a merge: its name, its record, and its run folder's copy inside the merged folder."""

    name: str
    source: Path
    record: dict[str, Any]
    folder: RunFolder

    @property
    def relative(self) -> str:
        return f"{DIR}/{self.name}"


def merge(run_dirs: list[Path], out: Path, allow_different: bool = False, lang: str | None = None) -> Path:
    """Copy, re-render and collate the runs; returns the merged report.html."""
    if len(run_dirs) < 2:
        raise UserError("merge needs two run folders or more (one per machine); a single run has its own report")
    members, warnings = _members(run_dirs)
    warnings += _same_experiment(members, allow_different)
    warnings += _same_models(members)
    _prepare(out)
    members = [_copy(m, out) for m in members]
    runs = {m.name: _render(m, lang) for m in members}
    summary = _summary(members, runs, warnings)
    write(out, summary, runs, lang or runs[members[0].name].config.lang)
    return out / "report.html"


def _members(run_dirs: list[Path]) -> tuple[list[Member], list[str]]:
    members, warnings, seen = [], [], {}
    for path in run_dirs:
        folder = RunFolder(path)
        if not folder.exists():
            raise UserError(f"{path} is not a run folder (no raw/cells.json); `python -m orchestrator list` shows "
                            "the runs of a reports folder")
        record = folder.read_machine()
        name = record.get("name")
        if not isinstance(name, str) or machine.problem(name):
            name = _fallback_name(path)
            warnings.append(f"{path} has no machine.json (a run from before machines were named): it is called "
                            f"'{name}' here")
        if name in seen:
            raise UserError(f"{seen[name]} and {path} both ran on the machine '{name}': a merged report holds one "
                            "run per machine. Compare two runs of one machine with `python -m orchestrator diff`, "
                            "or name the machines apart with `run --machine NAME`")
        seen[name] = path
        members.append(Member(name, path, record, folder))
    return members, warnings


def _fallback_name(path: Path) -> str:
    name = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in path.resolve().name).strip("-._")[:64]
    return name or "run"


def _same_experiment(members: list[Member], allow_different: bool) -> list[str]:
    """A clear refusal when the runs measured different configs (or cannot tell), unless allowed."""
    hashes = {m.name: m.record.get("experiment_sha256") for m in members}
    if len(set(hashes.values())) == 1 and None not in hashes.values():
        return []
    lines = [f"  {m.name} ({m.source}): config '{_config_name(m)}', experiment "
             f"{(hashes[m.name] or 'unknown (no machine.json)')[:12]}" for m in members]
    if not allow_different:
        raise UserError("these runs are not of the same experiment config (or one cannot tell):\n"
                        + "\n".join(lines) + "\nrun the same config file on each machine (only `machine` and "
                        "`seed` may differ), or pass --allow-different-configs to merge them anyway; the report "
                        "then says that the machines ran different experiments")
    return ["the machines ran different experiment configs (merged with --allow-different-configs): a difference "
            "between machines may be the config's:\n" + "\n".join(lines)]


def _config_name(member: Member) -> str:
    try:
        return str(json.loads(member.folder.derived("summary.json").read_text(encoding="utf-8")).get("name"))
    except (OSError, ValueError, AttributeError):
        return "?"


def _same_models(members: list[Member]) -> list[str]:
    """Models of one name with different bytes on two machines: the same config, different work."""
    digests: dict[str, dict[str, str]] = {}
    for m in members:
        for path, digest in (m.folder.read_environment().get("models") or {}).items():
            digests.setdefault(Path(path).name, {})[m.name] = digest
    return [f"the model {name} differs between machines ({', '.join(f'{k}: {v[:12]}' for k, v in by.items())}): "
            "their latencies are of different models" for name, by in digests.items() if len(set(by.values())) > 1]


def _prepare(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} already holds files; choose another --out folder (merge writes a new one)")
    try:
        (out / DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {out / DIR} ({exc.strerror or exc}); choose a writable --out folder") from None


def _copy(member: Member, out: Path) -> Member:
    target = out / DIR / member.name
    try:
        shutil.copytree(member.source, target, ignore=shutil.ignore_patterns(".*.tmp"))
    except (OSError, shutil.Error) as exc:
        raise UserError(f"cannot copy {member.source} into {target} ({exc}); free disk space or choose another "
                        "--out folder") from None
    return Member(member.name, member.source, member.record, RunFolder(target))


def _render(member: Member, lang: str | None) -> rundata.Run:
    """The machine's own report, re-rendered in its copy (this version's summary), and its data for collating."""
    report.render(member.folder.path, lang)
    return rundata.load(member.folder.path)


def _summary(members: list[Member], runs: dict[str, rundata.Run], warnings: list[str]) -> dict[str, Any]:
    machines = []
    for m in members:
        summary = json.loads(m.folder.derived("summary.json").read_text(encoding="utf-8"))
        machines.append({"name": m.name, "run": m.relative, "source_run_id": m.source.resolve().name,
                         "record": m.record, "summary": summary})
    first = members[0].name
    return {
        "schema": SCHEMA,
        "kind": "merge",
        "name": machines[0]["summary"].get("name"),
        "experiment_sha256": members[0].record.get("experiment_sha256"),
        "machines": machines,
        "across_machines": [{"a": first, "b": m.name, "rows": across(runs[first], runs[m.name])}
                            for m in members[1:]],
        "warnings": warnings,
    }


def across(a: rundata.Run, b: rundata.Run) -> list[dict[str, Any]]:
    """The same runner's cells on two machines, ratio b / a. Cells are matched by scenario variant, runner,
    model and engine, and by the rank of their thread count in each run: `threads: auto` is 16 on one machine
    and 8 on another, and both are that machine's `auto`."""
    old, new = _keyed(a), _keyed(b)
    keys = [k for k in old if k in new] + [k for k in new if k not in old] + [k for k in old if k not in new]
    pairs: list[history.Pair] = []
    for key in keys:
        ca, cb = old.get(key), new.get(key)
        labels = {"scenario": key[0], "runner": key[1], "model": key[2], "engine": key[3],
                  "threads_a": ca.info["threads"] if ca else None, "threads_b": cb.info["threads"] if cb else None}
        pairs.append((labels, ca, cb))
    return history.compare(pairs)


def _keyed(run: rundata.Run) -> dict[tuple, rundata.CellData]:
    ranks = {t: i for i, t in enumerate(sorted({c.info["threads"] for c in run.cells}))}
    return {(c.info.get("label", "single"), c.info["runner"], c.info["model"],
             _engine(c.info), ranks[c.info["threads"]]): c for c in run.cells}


def _engine(info: dict[str, Any]) -> str:
    engine = info.get("engine") or "opencv"
    return f"{engine}:{info['provider']}" if info.get("provider") else engine


def write(out: Path, summary: dict[str, Any], runs: dict[str, rundata.Run], lang: str) -> None:
    exports.write_atomic(out / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False))
    exports.write_atomic(out / "summary.csv", _csv(summary))
    exports.write_atomic(out / "summary.md", _markdown(summary))
    exports.write_atomic(out / "report.html", report.render_merged(summary, runs, lang))
    for warning in summary["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)


def _csv(summary: dict[str, Any]) -> str:
    """Every machine's summary.csv rows, with the machine as the first column."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["machine", *exports.csv_columns()])
    writer.writeheader()
    for m in summary["machines"]:
        for cell in m["summary"]["cells"]:
            writer.writerow({"machine": m["name"], **exports.csv_row(cell)})
    return buf.getvalue()


def _markdown(summary: dict[str, Any]) -> str:
    md = exports.md
    lines = [f"# {md(summary['name'])}: {len(summary['machines'])} machines", ""]
    lines += ["| machine | OS | CPU | logical CPUs | RAM GB | GPU |", "|---|---|---|---|---|---|"]
    for m in summary["machines"]:
        r = m["record"]
        gpu = ", ".join(f"{g['name']} ({g['driver']})" for g in r.get("gpus") or []) or "none"
        lines.append(f"| {md(m['name'])} | {md(r.get('os_detail') or r.get('os') or '?')} | "
                     f"{md(r.get('cpu_model') or '?')} | {r.get('logical_cpus', '?')} | {r.get('ram_gb', '?')} | "
                     f"{md(gpu)} |")
    for block in summary["across_machines"]:
        lines += ["", f"## Same runner, {md(block['b'])} / {md(block['a'])}", "",
                  "| scenario | runner | model | threads | median ms (a) | median ms (b) | change [95 % CI] |",
                  "|---|---|---|---|---|---|---|"]
        for r in block["rows"]:
            lines.append(f"| {md(r['scenario'])} | {md(r['runner'])} | {md(r['model'])} | {r['threads_a']} / "
                         f"{r['threads_b']} | {_ms(r['old_ms'])} | {_ms(r['new_ms'])} | {md(r['change'])} |")
    lines += ["", "Each machine's own tables: " + ", ".join(f"{m['run']}/summary.md" for m in summary["machines"])]
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"

