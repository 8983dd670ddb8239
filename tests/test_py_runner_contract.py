"""The Python runner against every case of the runner contract, in process and without a model."""

from __future__ import annotations

import io
import json

import pytest
import runner
from contract import CLI_CASES, SPEC_CASES, Case, check, cli_args, ids


def run(args: list[str], stdin: str = "") -> tuple[int, list[dict]]:
    out = io.StringIO()
    status = runner.main(args, stdin=io.StringIO(stdin), stdout=out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("case", SPEC_CASES, ids=ids(SPEC_CASES))
def test_spec_case(case: Case) -> None:
    check(case, *run(["--spec", "-"], case.spec_text("python")))


@pytest.mark.parametrize("case", CLI_CASES, ids=ids(CLI_CASES))
def test_cli_case(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    stdin = Case(name="base", code=None).spec_text("python") if case.stdin == "base" else ""
    check(case, *run(cli_args(case), stdin))
    assert "usage" in capsys.readouterr().err or case.status != 2  # a bad command line also says how to call it
