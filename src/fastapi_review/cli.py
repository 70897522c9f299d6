"""Command line: `fastapi-review [PROJECT] …`, `fastapi-review rules`, `fastapi-review rule ID`,
`fastapi-review init claude [PROJECT]`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from fastapi_review import __version__
from fastapi_review.errors import UsageError
from fastapi_review.models import Review, Severity

SUBCOMMANDS = {"rules", "rule", "init"}


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


FAIL_ON = ("blocker", "critical", "high", "medium", "low", "reject", "conditional")


def gate_failures(review: Review, fail_on: str | None, new_code_only: bool = False) -> str | None:
    """Why the gate fails (exit 1), or None when it passes.

    A severity fails on any active finding at that severity or above; `reject` fails on a
    REJECT recommendation and `conditional` on anything but APPROVE. With `new_code_only`
    only findings on changed lines count (for the verdicts: the verdict is recomputed
    from those findings).
    """
    if fail_on is None:
        return None
    key = fail_on.lower()
    active = [f for f in review.active_findings if f.in_change or not new_code_only]
    scope = " in changed lines" if new_code_only else ""
    if key in {"reject", "conditional"}:
        recommendation = review.recommendation
        if new_code_only:
            from fastapi_review.verdict import recommend

            recommendation = recommend(review.scores, active)
        failed = recommendation == "REJECT" or (
            key == "conditional" and recommendation != "APPROVE"
        )
        return f"recommendation is {recommendation}{scope} (--fail-on {key})" if failed else None
    threshold = Severity(key.upper())
    hits = [f for f in active if f.severity.rank >= threshold.rank]
    if not hits:
        return None
    return f"{len(hits)} finding(s) at {threshold.value} or above{scope} (--fail-on {key})"


def _git_prefix(root: Path) -> str:
    """The project's folder inside its git repository ('' at the top or outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    if out.returncode != 0 or not out.stdout.strip():
        return ""
    try:
        rel = root.resolve().relative_to(Path(out.stdout.strip()).resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel + "/"


def _only_files(root: Path, names: tuple[str, ...]) -> set[str]:
    """The given files as paths relative to the project root (files outside it are dropped)."""
    out: set[str] = set()
    for name in names:
        p = Path(name)
        full = (p if p.is_absolute() else Path.cwd() / p).resolve()
        try:
            out.add(full.relative_to(root).as_posix())
        except ValueError:
            continue
    return out


def _gate_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    from fastapi_review.probes.runner import GATES

    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if names == ["none"]:
        return []
    unknown = [n for n in names if n not in GATES]
    if unknown:
        raise UsageError(
            f"--gates: unknown gate {unknown[0]!r} (known: {', '.join(GATES)}, or none)"
        )
    return names


@click.command(name="fastapi-review", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--design",
    type=click.Path(path_type=Path),
    help="Tech design (default: tech-design.md, docs/tech-design.md).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="code-review.md path (default: PROJECT/code-review.md; none with --only-files).",
)
@click.option("--json", "json_out", help="Write the JSON report here ('-' for stdout).")
@click.option(
    "--sarif", "sarif_out", type=click.Path(path_type=Path), help="Write SARIF 2.1.0 here."
)
@click.option(
    "--python",
    type=click.Path(path_type=Path),
    help="Interpreter of the reviewed project's environment.",
)
@click.option("--base", default="HEAD", show_default=True, help="What the change is compared to.")
@click.option("--no-tests", is_flag=True, help="Do not run the test suite.")
@click.option(
    "--gates",
    "gates_opt",
    metavar="LIST",
    help="Comma-separated gates to run (ruff,format,mypy,bandit,dependencies,tests,"
    "precommit,metadata) or 'none'; default: all.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    help="Read [tool.fastapi-review] from this TOML file.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON, case_sensitive=False),
    help="Exit 1 on a finding at this severity or above, or on a REJECT ('reject') or "
    "non-APPROVE ('conditional') recommendation.",
)
@click.option(
    "--new-code-only", is_flag=True, help="--fail-on counts only findings on changed lines."
)
@click.option(
    "--only-files",
    is_flag=True,
    help="The arguments are files (as pre-commit passes them): report and gate only "
    "findings in them; the project is --project or the current directory.",
)
@click.option(
    "--project",
    "project_opt",
    type=click.Path(path_type=Path),
    help="Project root (with --only-files).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the rule-result cache.")
def review_cmd(
    paths: tuple[str, ...],
    design: Path | None,
    output: Path | None,
    json_out: str | None,
    sarif_out: Path | None,
    python: Path | None,
    base: str,
    no_tests: bool,
    gates_opt: str | None,
    config: Path | None,
    fail_on: str | None,
    new_code_only: bool,
    only_files: bool,
    project_opt: Path | None,
    quiet: bool,
    no_cache: bool,
) -> int:
    """Review a FastAPI project against its tech design and write code-review.md.

    Exit status: 0 done (and the --fail-on gate passed), 1 the --fail-on gate failed,
    2 bad usage or configuration.
    """
    from fastapi_review.cache import NO_CACHE_ENV
    from fastapi_review.pipeline import run_review
    from fastapi_review.render import render_json, render_markdown
    from fastapi_review.render.sarif import render_sarif
    from fastapi_review.render.terminal import StageProgress, Terminal, print_summary
    from fastapi_review.workspace import open_workspace

    if no_cache:
        os.environ[NO_CACHE_ENV] = "1"

    if only_files:
        project = project_opt or Path(".")
    else:
        if len(paths) > 1:
            raise UsageError(
                f"expected one PROJECT, got {len(paths)} paths (use --only-files to pass files)"
            )
        if project_opt is not None and paths:
            raise UsageError("give the project either as PROJECT or as --project, not both")
        project = project_opt or (Path(paths[0]) if paths else Path("."))
    gate_names = _gate_names(gates_opt)
    ws = open_workspace(
        project,
        design=design,
        base=base,
        python=python,
        config_file=config,
        run_tests=not no_tests,
    )
    md_path = output if output is not None or only_files else ws.root / "code-review.md"
    json_path = Path(json_out) if json_out and json_out != "-" else None
    for path in (md_path, json_path, sarif_out):
        if path is not None:
            _check_writable(path)
    term = None if quiet else Terminal(sys.stderr if json_out == "-" else sys.stdout)
    if term is None:
        result = run_review(ws, gates=gate_names, one_shot=True)
    else:
        with StageProgress(term) as progress:
            result = run_review(ws, progress, gates=gate_names, one_shot=True)
    if only_files:
        keep = _only_files(ws.root, paths)
        result.findings = [f for f in result.findings if f.path in keep]
    outputs: list[str] = []
    if md_path is not None:
        _write(md_path, render_markdown(result))
        outputs.append(str(md_path))
    if json_out == "-":
        sys.stdout.write(render_json(result))
    elif json_path is not None:
        _write(json_path, render_json(result))
        outputs.append(str(json_path))
    if sarif_out is not None:
        _write(sarif_out, render_sarif(result, prefix=_git_prefix(ws.root)))
        outputs.append(str(sarif_out))
    failure = gate_failures(result, fail_on, new_code_only)
    if term is not None:
        print_summary(term, result, outputs, verdict=not only_files)
        if fail_on is not None:
            if failure:
                term.text(f"gate failed: {failure}", "bold red")
            else:
                term.text(f"gate passed (--fail-on {fail_on.lower()})", "green")
    return 1 if failure else 0


@click.group(name="fastapi-review")
def tools_cmd() -> None:
    """fastapi-review tools."""


@tools_cmd.command("rules")
def list_rules() -> None:
    """List every rule: id, name, category, default severity."""
    from fastapi_review.rules import all_rules

    for rid, rule in all_rules().items():  # one line a rule, never wrapped: grep-able
        sys.stdout.write(
            f"{rid:<8} {rule.default_severity().value:<9} {rule.category:<28} {rule.name}\n"
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


@tools_cmd.group("init")
def init_group() -> None:
    """Set up a coding agent to use fastapi-review."""


@init_group.command("claude")
@click.argument("project", type=click.Path(path_type=Path), default=Path("."), required=False)
@click.option("--force", is_flag=True, help="Overwrite an existing, edited command file.")
def init_claude_cmd(project: Path, force: bool) -> None:
    """Write .claude/commands/code-review-backend-python-fastapi.md into PROJECT."""
    from fastapi_review.agents import COMMAND_NAME, init_claude

    written = init_claude(project, force=force)
    sys.stdout.write(f"{written.state} {written.path}\nrun it in Claude Code as /{COMMAND_NAME}\n")


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
