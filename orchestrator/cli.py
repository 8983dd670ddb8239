"""Command line: `python -m orchestrator run|report|list|diff|merge|validate|doctor`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from . import doctor, history, i18n, merge, preflight, report
from . import run as run_mod
from .errors import Terminated, UserError
from .runfolder import RunFolder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orchestrator",
                                     description="Go vs Python (vs C++) YOLO inference benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the experiments of a YAML config and write a report")
    p.add_argument("config", type=Path, nargs="?", help="the config (optional with --resume: then it must be the "
                   "config the run was started with)")
    p.add_argument("--out", type=Path, help="run folder to create (default: reports/<time>-<name>)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="finish an interrupted run: keep its finished processes and run the rest")
    p.add_argument("--lang", choices=i18n.LANGS, help="language of the report (default: the config's report.lang)")
    p.add_argument("--machine", metavar="NAME", help="name of this machine in a merged report (default: the "
                   "config's machine, else the host name)")
    p = sub.add_parser("report", help="re-render summary and report.html from a run folder's raw data")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--lang", choices=i18n.LANGS, help="language of the report (default: the config's report.lang)")
    p = sub.add_parser("list", help="list the runs in a reports folder")
    p.add_argument("reports", type=Path, nargs="?", default=Path("reports"))
    p = sub.add_parser("diff", help="compare two runs cell by cell (ratio, CI, significance)")
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--html", type=Path, help="also write the comparison as an HTML page")
    p = sub.add_parser("merge", help="one report over several machines' runs of the same config")
    p.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="one run folder per machine")
    p.add_argument("--out", type=Path, required=True, help="the merged folder to create")
    p.add_argument("--allow-different-configs", action="store_true",
                   help="merge runs of different configs (the report says so)")
    p.add_argument("--lang", choices=i18n.LANGS, help="language of the report (default: the first run's report.lang)")
    p = sub.add_parser("validate", help="check a config and what its run needs, as `run` does, without measuring")
    p.add_argument("config", type=Path)
    p = sub.add_parser("doctor", help="check the prerequisites and say how to install what is missing")
    p.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            if args.config is None and args.resume is None:
                raise UserError("name a config to run, or --resume RUN_DIR to finish an interrupted run")
            if args.resume is not None and args.out is not None:
                raise UserError("--resume writes into the run folder it finishes; drop --out")
            _on_sigterm()
            if args.resume is not None and args.machine is not None:
                raise UserError("--resume finishes a run on the machine it was started on; drop --machine")
            return run_mod.run(args.config, args.out, lang=args.lang, resume=args.resume,
                               machine_name=args.machine).exit_code
        elif args.command == "report":
            if not RunFolder(args.run_dir).exists():
                raise UserError(f"{args.run_dir} is not a run folder (no raw/cells.json)")
            print(report.render(args.run_dir, args.lang))
        elif args.command == "list":
            print(history.format_list(history.list_runs(args.reports)))
        elif args.command == "diff":
            rows = history.diff(args.old, args.new)
            print(history.format_text(args.old, args.new, rows))
            if args.html:
                print(f"html: {history.write_html(args.old, args.new, rows, args.html)}")
        elif args.command == "merge":
            print(f"report: {merge.merge(args.run_dirs, args.out, args.allow_different_configs, args.lang)}")
        elif args.command == "validate":
            return preflight.main(args.config)
        else:
            return doctor.main(args.config)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("interrupted", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    return 0


def _on_sigterm() -> None:
    """SIGTERM (and on Windows Ctrl-Break, SIGBREAK) stops a run as Ctrl-C does: the runner's tree killed, the
    report of what finished, exit 143. Only signals that exist here are named (hostos.stop_signals)."""
    from . import hostos  # here, not at the top: this function is the only user in this module

    def stop(signum: int, frame: object) -> None:
        raise Terminated()
    if threading.current_thread() is threading.main_thread():
        for signum in hostos.stop_signals():
            signal.signal(signum, stop)
