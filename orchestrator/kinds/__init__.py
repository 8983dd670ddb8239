"""Scenario kinds: what the orchestrator does with each scenario, one module per scenario type (kinds/<type>.py).

registry.py declares what a scenario is (its keys, records, the names of its figures, its claims); its kind module
holds the behaviour: parsing its config keys, the cells it expands into and their labels, the keys it writes into
a spec, its figures, its charts, its rows of summary.csv and summary.md, and the value schema of its keys. Its
report section is the template partial templates/scenarios/<type>.html.j2. The general modules (scenarios, matrix,
figures, exports, report, configschema) look a scenario up in KINDS and never test its type by name.

A kind module is imported when KINDS is first asked for it, not with this package: scenarios.py (so config.py)
imports this package, while a kind module imports the layers above the config (matrix, rundata, figures). Its
charts import matplotlib only when they are drawn (`chart`), so parsing a config never loads it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable

from ..registry import TYPES

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..rundata import CellData
    from ..scenarios import Scenario
    from ..yamldoc import Doc

Translate = Callable[[str], str]
Chart = Callable[..., "bytes | None"]
RunFigure = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


class Kind:
    """One scenario type's behaviour. Each default is what a scenario without that part does (as single)."""

    name = ""
    # Its cells fill the article-shaped tables of summary.md and the report: those of the lowest rank present in a
    # run (single: 1; video and batch: 2, when a run has no single cell); 0: never.
    article = 0
    # The position of its section in the report (templates/scenarios/<name>.html.j2); 0: it has none.
    section = 0
    csv_columns: tuple[str, ...] = ()  # its own columns of summary.csv, after the common ones

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        """Its config keys as Scenario fields: each value checked, with an error that names the key."""
        return {}

    def resolved(self, s: Scenario) -> dict[str, Any]:
        """Its keys as the run folder's config.yaml writes them back (and `parse` reads them again)."""
        return {}

    def variants(self, s: Scenario) -> list[dict[str, Any]]:
        """The cells one config entry makes per runner, model and thread count (a worker count and rate each)."""
        return [{}]

    def label_parts(self, variant: dict[str, Any]) -> list[str]:
        """What tells a variant's cells from the scenario's other variants in its label: `w=2`, `r=8/s`."""
        return []

    def model_batch(self, s: Scenario) -> int:
        """The batch of the models its cells take (matrix.expand: a model runs where its batch is this)."""
        return 1

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        """The keys it adds to the spec `base` of one process (the `repeat`-th of its cell)."""
        return {}

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
        """Its figures of one cell (the keys registry.ScenarioType.figures names, and more)."""
        return {}

    def run_figures(self) -> dict[str, RunFigure]:
        """Figures over a whole run's cell summaries, by their key in summary.json (server_capacity, ...)."""
        return {}

    def charts(self, summaries: list[dict[str, Any]], cells: list[CellData], colours: dict[str, str],
               _: Translate) -> dict[str, bytes | None]:
        """Its charts of a run, by their name in the report's templates; None: nothing to draw."""
        return {}

    def csv_row(self, cell: dict[str, Any]) -> dict[str, Any]:
        """The values of csv_columns for one of its cells' summaries."""
        return {}

    def markdown(self, cells: list[dict[str, Any]]) -> list[str]:
        """Its own section of summary.md from its cells' summaries, as lines; [] for none."""
        return []

    def schema(self) -> dict[str, dict[str, Any]]:
        """The JSON Schema of the values of its own config keys (configschema.py; keys shared by several kinds
        are configschema's)."""
        return {}


class _Kinds(Mapping[str, Kind]):
    """The kind of each registered scenario type, in the registry's order; a kind module is imported on first use."""

    def __getitem__(self, name: str) -> Kind:
        if name not in TYPES:
            raise KeyError(name)
        return importlib.import_module(f"{__name__}.{name}").KIND

    def __iter__(self) -> Iterator[str]:
        return iter(TYPES)

    def __len__(self) -> int:
        return len(TYPES)


KINDS: Mapping[str, Kind] = _Kinds()


def sections() -> list[str]:
    """The scenario types with a report section, in the order of the page."""
    return sorted((k.name for k in KINDS.values() if k.section), key=lambda name: KINDS[name].section)


def chart(draw: Chart) -> Chart:
    """A kind's chart, drawn by charts.py's rule (texts as given, charts.plain_text), with matplotlib imported
    only when it is drawn: a kind module is imported to parse a config, which must not load matplotlib. The chart's
    own code imports what it draws with (charts.plt, charts.png) in its body, for the same reason."""
    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> bytes | None:
        from .. import charts

        return charts.plain_text(draw)(*args, **kwargs)
    return drawn
