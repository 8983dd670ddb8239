"""What the scenarios with a worker count share (concurrency, server, spawn, http): `workers` scanned one cell
per count, Python's concurrency mode, and both in the spec (docs/protocol.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import matrix
from ..registry import python_modes
from ..scenarios import int_list
from ..yamldoc import Doc, choice
from . import Kind

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..scenarios import Scenario


class Pool(Kind):
    workers_default: tuple[int, ...] = (1, 2)  # `workers` when the config has none
    workers_most: int | None = None  # the most workers a spec of this type may ask for (docs/protocol.md)

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        return {"workers": int_list(doc, kp + ("workers",), s.get("workers", list(self.workers_default)), 1,
                                    self.workers_most),
                "python_mode": choice(doc, kp + ("python_mode",), python_modes(self.name), "threads")}

    def resolved(self, s: Scenario) -> dict[str, Any]:
        return {"workers": list(s.workers), "python_mode": s.python_mode}

    def variants(self, s: Scenario) -> list[dict[str, Any]]:
        return [{"workers": w} for w in s.workers]

    def label_parts(self, variant: dict[str, Any]) -> list[str]:
        parts = []
        if "workers" in variant:
            parts.append(f"w={variant['workers']}")
        if "rate" in variant:
            parts.append(f"r={variant['rate']:g}/s")
        if "clients" in variant:
            parts.append(f"c={variant['clients']}")
        return parts

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        return {"workers": cell.variant["workers"], "mode": matrix.mode_of(cell)}
