"""Command line: `fastapi-review [PROJECT] …`, `fastapi-review rules`, `fastapi-review rule ID`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from fastapi_review import __version__
from fastapi_review.errors import UsageError
from fastapi_review.models import Review, Severity

SUBCOMMANDS = {"rules", "rule"}


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _check_writable(path: Path) -> None:
    parent = path.parent if path.parent != Path("") else Path(".")
    if path.is_dir():
        raise UsageError(f"output path is a directory: {path}")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"output folder is not a directory: {parent}")


def _summary(review: Review, console: Console, outputs: list[str]) -> None:
    active = review.active_findings
    counts = {s: sum(1 for f in active if f.severity == s) for s in Severity}
    console.print(
        f"[bold]{review.recommendation}[/bold]  overall {review.scores.overall}/5  "
        f"(requirements {review.scores.requirements}, tests {review.scores.tests}, "
        f"quality {review.scores.quality})"
    )
    console.print(
        "findings: " + ", ".join(f"{counts[s]} {s.value}" for s in Severity),
        highlight=False,
    )
    worst = sorted(active, key=lambda f: f.sort_key())[:5]
    for f in worst:
        loc = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "project")
        console.print(f"  {f.severity.value:<8} {f.rule:<12} {loc}  {f.message}", highlight=False)
    for out in outputs:
        console.print(f"wrote {out}", highlight=False)


@click.command(name="fastapi-review", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("project", type=click.Path(path_type=Path), default=Path("."), required=False)
@click.option(
    "--design",
    type=click.Path(path_type=Path),
    help="Tech design (default: tech-design.md, docs/tech-design.md).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="code-review.md path (default: PROJECT/code-review.md).",
)
@click.option("--json", "json_out", help="Write the JSON report here ('-' for stdout).")
@click.option(
    "--python",
    type=click.Path(path_type=Path),
    help="Interpreter of the reviewed project's environment.",
)
@click.option("--base", default="HEAD", show_default=True, help="What the change is compared to.")
@click.option("--no-tests", is_flag=True, help="Do not run the test suite.")
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    help="Read [tool.fastapi-review] from this TOML file.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def review_cmd(
    project: Path,
    design: Path | None,
    output: Path | None,
    json_out: str | None,
    python: Path | None,
    base: str,
    no_tests: bool,
    config: Path | None,
    quiet: bool,
) -> None:
    """Review a FastAPI project against its tech design and write code-review.md."""
    from fastapi_review.pipeline import run_review
    from fastapi_review.render import render_json, render_markdown
    from fastapi_review.workspace import open_workspace

    ws = open_workspace(
        project,
        design=design,
        base=base,
        python=python,
        config_file=config,
        run_tests=not no_tests,
    )
    md_path = output or ws.root / "code-review.md"
    _check_writable(md_path)
    json_path = Path(json_out) if json_out and json_out != "-" else None
    if json_path is not None:
        _check_writable(json_path)
    result = run_review(ws)
    outputs = []
    _write(md_path, render_markdown(result))
    outputs.append(str(md_path))
    if json_out == "-":
        sys.stdout.write(render_json(result))
    elif json_path is not None:
        _write(json_path, render_json(result))
        outputs.append(str(json_path))
    if not quiet:
        console = Console(stderr=json_out == "-")
        _summary(result, console, outputs)


@click.group(name="fastapi-review")
def tools_cmd() -> None:
    """fastapi-review tools."""


@tools_cmd.command("rules")
def list_rules() -> None:
    """List every rule: id, name, category, default severity."""
    from fastapi_review.rules import all_rules

    console = Console()
    for rid, rule in all_rules().items():
        console.print(
            f"{rid:<8} {rule.default_severity().value:<9} {rule.category:<28} {rule.name}",
            highlight=False,
        )


@tools_cmd.command("rule")
@click.argument("rule_id")
def explain_rule(rule_id: str) -> None:
    """Explain one rule: what it finds, why it matters, the fix, examples."""
    from fastapi_review.rules import all_rules

    rules = all_rules()
    rule = rules.get(rule_id.upper())
    if rule is None:
        raise UsageError(f"unknown rule {rule_id!r} (see `fastapi-review rules`)")
    sys.stdout.write(rule.doc())


def _error(message: str) -> int:
    sys.stderr.write(f"fastapi-review: error: {message}\n")
    return 2


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in {"--version", "-V"}:
        sys.stdout.write(f"fastapi-review {__version__}\n")
        return 0
    cmd: click.Command = tools_cmd if args and args[0] in SUBCOMMANDS else review_cmd
    try:
        result = cmd.main(args=args, prog_name="fastapi-review", standalone_mode=False)
    except UsageError as exc:
        return _error(str(exc))
    except click.UsageError as exc:
        return _error(exc.format_message().splitlines()[0])
    except click.exceptions.Abort:
        return _error("aborted")
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
