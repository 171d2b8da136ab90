"""The root of Mailfort's own exceptions.

Three families (STYLE.md §4): protocol errors live in ``imap.errors``, domain errors in each
layer's ``errors`` module, and everything else is a bug.
"""

from __future__ import annotations

__all__ = ["MailfortError", "ConfigError", "UsageError"]


class MailfortError(Exception):
    """Base class of every error Mailfort raises on purpose."""


class ConfigError(MailfortError):
    """The configuration is invalid. ``key`` names the dotted key path."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


class UsageError(MailfortError):
    """A command-line call is wrong; the CLI prints it and exits with status 2."""
