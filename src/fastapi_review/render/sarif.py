"""SARIF 2.1.0: the review's findings for code scanning (GitHub, GitLab, IDE viewers).

One run. Each rule that reported a finding is described once, with the rule's doc as help
text. Paths are relative (`uriBaseId` %SRCROOT%, the repository root when the project sits
inside one: pass `prefix`). Fingerprints do not depend on line numbers: they hash the rule,
the path and the whitespace-normalised text of the reported line, so a finding keeps its
identity when code above it moves. Security findings carry `security-severity`.
Suppressed findings are included with an in-source suppression and its reason.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi_review.categories import categories
from fastapi_review.models import Finding, Review, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "fastapiReview/v1"
# when the package names no documentation URL, a rule is named by a URN
HELP_URN = "urn:fastapi-review:rule:"

LEVEL = {
    Severity.BLOCKER: "error",
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub reads `security-severity` (0.0-10.0): >= 9 critical, >= 7 high, >= 4 medium
SECURITY_SEVERITY = {
    Severity.BLOCKER: "9.8",
    Severity.CRITICAL: "9.0",
    Severity.HIGH: "7.5",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "3.0",
}

LineReader = Callable[[str, int], str]


def docs_url() -> str | None:
    """The documentation URL of the installed package (`[project.urls] Documentation`)."""
    try:
        urls = metadata.metadata("fastapi-review").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    found: dict[str, str] = {}
    for entry in urls:
        label, _, url = str(entry).partition(",")
        found[label.strip().lower()] = url.strip()
    return found.get("documentation") or found.get("homepage") or found.get("repository")


def help_uri(rule_id: str, base: str | None) -> str:
    if base:
        return f"{base.rstrip('/')}#{rule_id.lower().replace(':', '-')}"
    return f"{HELP_URN}{rule_id}"


def file_line_reader(root: Path) -> LineReader:
    """Reads a line of a project file (cached per file); '' when it cannot."""
    cache: dict[str, list[str]] = {}

    def read(path: str, line: int) -> str:
        if path not in cache:
            try:
                cache[path] = (root / path).read_text("utf-8", errors="replace").splitlines()
            except OSError:
                cache[path] = []
        lines = cache[path]
        return lines[line - 1] if 1 <= line <= len(lines) else ""

    return read


def normalised(text: str) -> str:
    return " ".join(text.split())


def fingerprint(f: Finding, line_text: str) -> str:
    """Rule + path + normalised line text (the message when the finding has no line)."""
    anchor = normalised(line_text) or normalised(f.evidence) or normalised(f.message)
    raw = "\x1f".join([f.rule, f.path or "", anchor])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _first_sentence(text: str) -> str:
    flat = normalised(textwrap.dedent(text))
    end = flat.find(". ")
    return flat if end < 0 else flat[: end + 1]


def _rule_descriptor(rule_id: str, sample: Finding, base: str | None) -> dict[str, Any]:
    from fastapi_review.rules import all_rules  # late: renderers do not need the rules otherwise

    rule = all_rules().get(rule_id)
    cat = categories().get(sample.category)
    if rule is not None:
        severity = rule.default_severity()
        desc: dict[str, Any] = {
            "id": rule_id,
            "name": rule.name,
            "shortDescription": {"text": _first_sentence(rule.what) or rule.name},
            "fullDescription": {"text": normalised(textwrap.dedent(rule.what))},
            "help": {"text": rule.doc(), "markdown": rule.doc()},
            "helpUri": help_uri(rule_id, base),
        }
        category_id = rule.category
    else:  # a gate's rule (ruff:E501, mypy:arg-type, ...): described by its category
        severity = cat.severity if cat is not None else sample.severity
        what = cat.what if cat is not None else sample.category
        tool = rule_id.split(":", 1)[0]
        desc = {
            "id": rule_id,
            "name": rule_id.replace(":", "-"),
            "shortDescription": {"text": f"{tool}: {what}"},
            "help": {
                "text": f"Reported by {tool} and mapped to {sample.category}: {what}.\n"
                f"Fix: {sample.fix or 'see the tool documentation for the code.'}"
            },
            "helpUri": help_uri(rule_id, base),
        }
        category_id = sample.category
    tags = [category_id, category_id.split(".", 1)[0]]
    props: dict[str, Any] = {"tags": tags}
    if category_id.startswith("security."):
        props["security-severity"] = SECURITY_SEVERITY[severity]
    desc["defaultConfiguration"] = {"level": LEVEL[severity]}
    desc["properties"] = props
    return desc


def _message(f: Finding) -> str:
    if not f.fix:
        return f.message
    return f"{f.message.rstrip('. ')}. Fix: {f.fix}"


def _location(f: Finding, prefix: str, design: str | None) -> list[dict[str, Any]]:
    path = f.path or design
    if path is None:
        return []
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": prefix + path, "uriBaseId": SRCROOT},
    }
    if f.path is not None and f.line is not None and f.line > 0:
        physical["region"] = {"startLine": f.line}
    return [{"physicalLocation": physical}]


def to_sarif_dict(
    review: Review,
    prefix: str = "",
    read_line: LineReader | None = None,
    base_url: str | None = None,
) -> dict[str, Any]:
    """The SARIF log of a review. `prefix`: the project's folder inside the repository."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    reader = read_line or file_line_reader(Path(review.root))
    base = base_url if base_url is not None else docs_url()
    findings = sorted(review.findings, key=lambda f: f.sort_key())
    order: list[str] = []
    samples: dict[str, Finding] = {}
    for f in findings:
        if f.rule not in samples:
            samples[f.rule] = f
            order.append(f.rule)
    order.sort()
    rules = [_rule_descriptor(rid, samples[rid], base) for rid in order]
    index = {rid: i for i, rid in enumerate(order)}
    seen: Counter[str] = Counter()
    results: list[dict[str, Any]] = []
    for f in findings:
        text = reader(f.path, f.line) if f.path and f.line else ""
        fp = fingerprint(f, text)
        seen[fp] += 1
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": LEVEL[f.severity],
            "message": {"text": _message(f)},
            "locations": _location(f, prefix, review.design),
            "partialFingerprints": {FINGERPRINT_KEY: f"{fp}:{seen[fp]}"},
            "properties": {
                "category": f.category,
                "severity": f.severity.value,
                "inChange": f.in_change,
                "source": f.source,
                "evidence": f.evidence,
            },
        }
        if not result["locations"]:
            del result["locations"]
        if f.chain:
            result["properties"]["chain"] = f.chain
        if f.suppressed:
            result["suppressions"] = [
                {"kind": "inSource", "justification": f.suppression_reason or ""}
            ]
        results.append(result)
    driver: dict[str, Any] = {
        "name": "fastapi-review",
        "semanticVersion": review.tool_version,
        "version": review.tool_version,
        "rules": rules,
    }
    if base:
        driver["informationUri"] = base
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "the root of the reviewed repository"}}
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
                "properties": {
                    "recommendation": review.recommendation,
                    "scores": {
                        "requirements": review.scores.requirements,
                        "tests": review.scores.tests,
                        "quality": review.scores.quality,
                        "overall": review.scores.overall,
                    },
                },
            }
        ],
    }


def render_sarif(
    review: Review,
    prefix: str = "",
    read_line: LineReader | None = None,
    base_url: str | None = None,
) -> str:
    data = to_sarif_dict(review, prefix=prefix, read_line=read_line, base_url=base_url)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
