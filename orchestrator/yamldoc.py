"""A parsed YAML document that remembers the line of every key, and the checks that use it.

Every check raises ConfigError naming the file, the line and the dotted key, so that config errors are all
alike: `configs/x.yaml:12: models[0].input_size: expected a whole number, got 'big'`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class Doc:
    """The parsed YAML plus the line of every key, so that each error can point at its line."""

    def __init__(self, path: Path, data: Any, lines: dict[tuple, int], check_files: bool = True) -> None:
        self.path, self.data, self.lines = path, data, lines
        self.check_files = check_files  # False when re-reading a run folder's config.yaml on another machine

    def fail(self, keypath: tuple, problem: str) -> ConfigError:
        line = None
        for n in range(len(keypath), -1, -1):  # the nearest located ancestor
            line = self.lines.get(keypath[:n])
            if line:
                break
        return ConfigError(self.path, line, dotted(keypath), problem)


def dotted(keypath: tuple) -> str:
    out = ""
    for part in keypath:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def collect_lines(node: yaml.Node, keypath: tuple, lines: dict[tuple, int], path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ConfigError(path, key_node.start_mark.line + 1, dotted(keypath + (key,)),
                                  "this key appears twice; keep one")
            seen.add(key)
            lines[keypath + (key,)] = key_node.start_mark.line + 1
            collect_lines(value_node, keypath + (key,), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[keypath + (i,)] = item.start_mark.line + 1
            collect_lines(item, keypath + (i,), lines, path)


def no_unknown(doc: Doc, keypath: tuple, mapping: dict, allowed: set[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise doc.fail(keypath + (key,), f"unknown key; allowed here: {', '.join(sorted(allowed))}")


def typed(doc: Doc, keypath: tuple, kind: type, default: Any = None) -> Any:
    value = lookup(doc.data, keypath)
    if value is None:
        if default is None:
            raise doc.fail(keypath, f"missing; expected a {kind.__name__}")
        return default
    if not isinstance(value, kind) or isinstance(value, bool):
        raise doc.fail(keypath, f"expected a {kind.__name__}, got {value!r}")
    return value


def lookup(data: Any, keypath: tuple) -> Any:
    for part in keypath:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def mapping(doc: Doc, keypath: tuple, allowed: set[str]) -> dict:
    value = lookup(doc.data, keypath)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.fail(keypath, f"expected a mapping with keys {', '.join(sorted(allowed))}")
    no_unknown(doc, keypath, value, allowed)
    return value


def number(doc: Doc, keypath: tuple, value: Any, low: float | None, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise doc.fail(keypath, f"expected a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise doc.fail(keypath, f"{value} is out of range; use a number {bounds}")
    return float(value)


def integer(doc: Doc, keypath: tuple, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.fail(keypath, f"expected a whole number, got {value!r}")
    if value < low:
        raise doc.fail(keypath, f"{value} is too small; use {low} or more")
    if high is not None and value > high:
        raise doc.fail(keypath, f"{value} is too large; use at most {high}")
    return value


def choice(doc: Doc, keypath: tuple, choices: tuple, default: str | None) -> str:
    value = lookup(doc.data, keypath)
    if value is None:
        if default is None:
            raise doc.fail(keypath, f"missing; one of: {', '.join(choices)}")
        return default
    if value not in choices:
        raise doc.fail(keypath, f"{value!r} is not one of: {', '.join(choices)}")
    return value


def valid_name(doc: Doc, keypath: tuple, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise doc.fail(keypath, f"expected a non-empty name, got {value!r}")
    return value


def list_of_mappings(doc: Doc, key: str) -> list[dict]:
    items = doc.data.get(key)
    if not isinstance(items, list) or not items:
        raise doc.fail((key,), "expected a non-empty list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise doc.fail((key, i), f"expected a mapping, got {item!r}")
    return items


def unique(doc: Doc, key: str, names: list[str]) -> None:
    for i, name in enumerate(names):
        if name in names[:i]:
            raise doc.fail((key, i, "name"), f"the name {name!r} is used twice; names must be unique")


def resolve_path(doc: Doc, value: str) -> Path:
    path = Path(os.path.expandvars(os.path.expanduser(value)))
    return path if path.is_absolute() else (doc.path.parent / path).resolve()


def existing_file(doc: Doc, keypath: tuple, value: Any, hint: str) -> Path:
    if not isinstance(value, str) or not value:
        raise doc.fail(keypath, "expected a file path")
    path = resolve_path(doc, value)
    if doc.check_files and not path.is_file():
        raise doc.fail(keypath, f"file not found: {path}; {hint}")
    return path
