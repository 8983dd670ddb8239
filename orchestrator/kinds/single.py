"""single: one image per iteration, the article's latency (docs/protocol.md, "single").

It has no keys, figures or section of its own: the common ones (latency, phases, memory) are all it reports, in
the article-shaped tables.
"""

from __future__ import annotations

from . import Kind


class Single(Kind):
    name = "single"
    article = 1


KIND = Single()
