"""video: a video's frames, decoded and run one by one, as fast as possible or in real time, with frames dropped
(docs/protocol.md, "video"). Its figure is the frames per second after warm-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import configschema, warmup
from ..figures import median
from ..scenarios import flag
from ..yamldoc import Doc, existing_file
from . import Kind, Translate

if TYPE_CHECKING:
    from ..matrix import Cell
    from ..rundata import CellData
    from ..scenarios import Scenario


class Video(Kind):
    name = "video"
    article = 2  # in the article-shaped tables when a run has no single cell
    section = 1

    def parse(self, doc: Doc, kp: tuple, s: dict[str, Any]) -> dict[str, Any]:
        return {"video": existing_file(doc, kp + ("video",), s.get("video"), "run `make data` to fetch vtest.avi"),
                "realtime": flag(doc, kp + ("realtime",), s.get("realtime", False))}

    def resolved(self, s: Scenario) -> dict[str, Any]:
        return {"video": str(s.video), "realtime": s.realtime}

    def spec(self, cell: Cell, base: dict[str, Any], repeat: int) -> dict[str, Any]:
        s = cell.scenario
        return {"video": {"path": str(s.video), "realtime": s.realtime}}

    def figures(self, cell: CellData, s: Scenario) -> dict[str, Any]:
        results = cell.results()
        warm = warmup.AUTO_RUNNER_WARMUP if s.warmup is None else s.warmup  # as the runner ran it
        fps = [(r["processed"] - warm) / (r["measured_wall_ns"] / 1e9) for r in results
               if r["measured_wall_ns"] > 0 and r["processed"] > warm]
        return {"fps": median(fps), "fps_per_process": fps, "realtime": s.realtime,
                "frames_read": sum(r["frames_read"] for r in results),
                "processed": sum(r["processed"] for r in results), "dropped": sum(r["dropped"] for r in results),
                "source_fps": results[0]["source_fps"] if results else None}

    def charts(self, summaries: list[dict[str, Any]], cells: list[CellData], colours: dict[str, str],
               _: Translate) -> dict[str, bytes | None]:
        from .. import charts  # matplotlib: only when a report is drawn

        return {"video": charts.bars(summaries, "video", lambda s: (s.get("fps"), None), _("frames per second"),
                                     colours)}

    def schema(self) -> dict[str, dict[str, Any]]:
        return {"video": configschema.str_schema("video: the video file"),
                "realtime": configschema.bool_schema("video: play at the stream's frame rate and drop frames "
                                                     "(default false)")}


KIND = Video()
