"""batch: N images per forward(), on the models exported with that batch (docs/protocol.md, "batch")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import configschema, statistics
from ..figures import median
from ..yamldoc import Doc, integer
from . import Kind

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..rundata import CellData
    from ..scenarios import Scenario


class Batch(Kind):
    name = "batch"
    article = 2  # in the article-shaped tables when a run has no single cell
    section = 6

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        return {"batch": integer(doc, kp + ("batch",), s.get("batch", 4), 1)}

    def resolved(self, s: Scenario) -> dict[str, Any]:
        return {"batch": s.batch}

    def model_batch(self, s: Scenario) -> int:
        return s.batch

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        return {"batch": cell.scenario.batch}

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
        batch = s.batch
        per_image = (cell.measured_ms() / batch).tolist()
        return {"batch": batch, "per_image_ms": {"p50": median(per_image),
                                                 "mean": statistics.describe(per_image)["mean"] if per_image else None}}

    def schema(self) -> dict[str, dict[str, Any]]:
        return {"batch": configschema.int_schema(1, "batch: images per forward() (default 4)")}


KIND = Batch()
