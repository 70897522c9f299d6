"""Errors the user can act on: one line, naming the thing to fix."""

from __future__ import annotations


class UsageError(Exception):
    """Bad CLI input or configuration: printed as one line, exit status 2."""
