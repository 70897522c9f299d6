"""Which architectural layer a file belongs to (router, service, repository, kafka, ...).

The same globs drive coverage per layer and the layering rules; they come from
`[tool.fastapi-review] layers` with defaults that fit common layouts.
"""

from __future__ import annotations

import fnmatch
import re

from fastapi_review.config import Config

# the order decides ties: a file under api/ named consumer.py is a kafka file
LAYER_ORDER = ("kafka", "repository", "service", "router", "schemas", "models", "core")


_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}


def _pattern(globs: list[str]) -> re.Pattern[str]:
    """One regular expression for globs as `fnmatch` reads them (any of them matches);
    "**/x/**" also matches "x/..." at the root, and "**/x.py" a root "x.py"."""
    key = tuple(globs)
    got = _patterns.get(key)
    if got is None:
        every = [
            g for glob in globs for g in ([glob, glob[3:]] if glob.startswith("**/") else [glob])
        ]
        got = _patterns[key] = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in every))
    return got


_known: dict[int, tuple[object, dict[str, str | None]]] = {}


def layer_of(path: str, config: Config) -> str | None:
    """The layer of a source file, or None when no layer glob matches (kept per layer
    configuration and path: rules ask again and again)."""
    layers = config.layers
    entry = _known.get(id(layers))
    if entry is None or entry[0] is not layers:
        if len(_known) > 64:
            _known.clear()
        entry = _known[id(layers)] = (layers, {})
    paths = entry[1]
    if path not in paths:
        paths[path] = _layer_of(path, config)
    return paths[path]


def _layer_of(path: str, config: Config) -> str | None:
    names = [n for n in LAYER_ORDER if n in config.layers] + [
        n for n in config.layers if n not in LAYER_ORDER
    ]
    for name in names:
        globs = config.layers[name]
        if globs and _pattern(globs).match(path) is not None:
            return name
    return None
