"""Errors that are the user's to fix: the CLI prints them as one clear message, never as a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix (a config, a missing file or tool); the message says what and how."""


class ConfigError(UserError):
    """A problem in a YAML config, located by file, line and key."""

    def __init__(self, path: object, line: int | None, key: str, problem: str) -> None:
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")
        self.path, self.line, self.key, self.problem = path, line, key, problem


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it stops a run as Ctrl-C does (orchestrator/cli.py)."""
