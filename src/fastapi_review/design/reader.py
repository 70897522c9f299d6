"""Tech design -> requirements (first version: endpoints stated as `METHOD /path`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_review.models import Requirement

_ENDPOINT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\s+`?(/[\w\-./{}:]*)`?")


@dataclass
class DesignDoc:
    path: Path
    text: str
    requirements: list[Requirement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_design(path: Path) -> DesignDoc:
    text = path.read_text("utf-8", errors="replace")
    doc = DesignDoc(path=path, text=text)
    seen: set[str] = set()
    for no, line in enumerate(text.splitlines(), start=1):
        for m in _ENDPOINT.finditer(line):
            key = f"{m.group(1)} {m.group(2).rstrip('.,')}"
            if key in seen:
                continue
            seen.add(key)
            doc.requirements.append(
                Requirement(id=f"EP-{len(seen)}", kind="endpoint", key=key, text=line.strip(), line=no)
            )
    if not doc.requirements:
        doc.problems.append("no recognisable requirement in the design")
    return doc
