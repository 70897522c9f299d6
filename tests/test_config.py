"""`[tool.fastapi-review]`: kebab/snake keys, defaults, and one-line errors that name the key."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_review.config import Config, GateTimeouts, load_config
from fastapi_review.errors import UsageError
from fastapi_review.models import Severity

ORDERS = Path(__file__).parent / "fixtures" / "ecosystem" / "orders"


def write_pyproject(root: Path, body: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "pyproject.toml"
    path.write_text(f'[project]\nname = "x"\n\n[tool.fastapi-review]\n{body}\n', encoding="utf-8")
    return path


def error_of(root: Path, body: str) -> str:
    write_pyproject(root, body)
    with pytest.raises(UsageError) as exc:
        load_config(root)
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config()
    assert config.thresholds.coverage_overall == 85.0
    assert config.thresholds.coverage_service == 95.0
    assert config.timeouts.for_gate("tests") == 600.0
    assert config.timeouts.for_gate("mypy") == 300.0


def test_full_table_kebab_case(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        """
design = "docs/design.md"
include = ["src/**"]
exclude = ["migrations/**"]
select = ["api", "ASY"]
ignore = ["API004"]
severity = { API003 = "low", "mypy:arg-type" = "MEDIUM" }
blocking-calls = ["legacy.client.fetch"]
cache-dir = ".cache/fr"

[tool.fastapi-review.layers]
service = ["**/usecases/**"]
jobs = ["**/jobs/**"]

[tool.fastapi-review.thresholds]
coverage-overall = 70
coverage-service = 90.5
diff-coverage = 60
latency-ms = 250
max-function-lines = 120

[tool.fastapi-review.timeouts]
default = 120
tests = 900
mypy = 60
""",
    )
    c = load_config(tmp_path)
    assert c.design == "docs/design.md"
    assert c.include == ["src/**"] and c.exclude == ["migrations/**"]
    assert c.select == ["API", "ASY"] and c.ignore == ["API004"]
    assert c.severity == {"API003": Severity.LOW, "MYPY:ARG-TYPE": Severity.MEDIUM}
    assert c.blocking_calls == ["legacy.client.fetch"]
    assert c.cache_dir == ".cache/fr"
    # user layers replace a default layer by name and add new ones; the rest stay
    assert c.layers["service"] == ["**/usecases/**"]
    assert c.layers["jobs"] == ["**/jobs/**"]
    assert "**/routers/**" in c.layers["router"]
    t = c.thresholds
    assert (t.coverage_overall, t.coverage_service, t.diff_coverage) == (70, 90.5, 60)
    assert t.latency_ms == 250 and t.max_function_lines == 120
    assert c.timeouts.for_gate("mypy") == 60
    assert c.timeouts.for_gate("ruff") == 120
    assert c.timeouts.for_gate("tests") == 900
    assert c.rule_enabled("API001") and c.rule_enabled("asy002")
    assert not c.rule_enabled("API004") and not c.rule_enabled("DB001")


def test_snake_case_is_the_same_config(tmp_path: Path) -> None:
    kebab = tmp_path / "kebab"
    snake = tmp_path / "snake"
    write_pyproject(kebab, 'blocking-calls = ["a.b"]\nthresholds = { coverage-overall = 70 }')
    write_pyproject(snake, 'blocking_calls = ["a.b"]\nthresholds = { coverage_overall = 70 }')
    assert load_config(kebab) == load_config(snake)


def test_both_spellings_is_an_error(tmp_path: Path) -> None:
    msg = error_of(tmp_path, 'blocking-calls = ["a"]\nblocking_calls = ["b"]')
    assert msg.endswith(
        "[tool.fastapi-review] blocking-calls: given twice (kebab-case and snake_case)"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('desing = "x.md"', "desing: unknown key; did you mean 'design'?"),
        (
            "thresholds = { coverage-overal = 80 }",
            "thresholds.coverage-overal: unknown key; did you mean 'coverage-overall'?",
        ),
        (
            "thresholds = { coverage-overall = 120 }",
            "thresholds.coverage-overall: input should be less than or equal to 100",
        ),
        (
            'thresholds = { latency-ms = "fast" }',
            "thresholds.latency-ms: input should be a valid number",
        ),
        ("timeouts = { mypy = 0 }", "timeouts.mypy: input should be greater than 0"),
        ('include = "src/**"', "include: input should be a valid list"),
        ('layers = { router = "api/**" }', "layers.router: input should be a valid list"),
        (
            'severity = { API001 = "urgent" }',
            "severity.API001: not a severity (BLOCKER, CRITICAL, HIGH, MEDIUM, LOW)",
        ),
        ('severity = { NOPE001 = "LOW" }', "severity.NOPE001: unknown rule id 'NOPE001'"),
        ('ignore = ["ZZZ9"]', "ignore: unknown rule id 'ZZZ9'"),
        ('select = ["API0011"]', "select: unknown rule id 'API0011'; did you mean"),
    ],
)
def test_bad_value_is_one_line_naming_the_key(tmp_path: Path, body: str, expected: str) -> None:
    msg = error_of(tmp_path, body)
    assert msg.startswith(f"{tmp_path / 'pyproject.toml'}: [tool.fastapi-review] ")
    assert expected in msg


def test_unknown_key_in_a_table_without_close_match_lists_known_keys(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "timeouts = { zzz = 3 }")
    assert "timeouts.zzz: unknown key; known keys: default, tests, ruff" in msg


def test_gate_rule_ids_are_accepted(tmp_path: Path) -> None:
    write_pyproject(tmp_path, 'ignore = ["mypy:import-untyped", "ruff:E501"]')
    assert load_config(tmp_path).ignore == ["MYPY:IMPORT-UNTYPED", "RUFF:E501"]


def test_broken_project_pyproject_is_left_to_the_metadata_gate(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname=", encoding="utf-8")
    assert load_config(tmp_path) == Config()


def test_config_file_top_level_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "review.toml"
    cfg.write_text('ignore = ["API004"]\n[thresholds]\ncoverage-service = 90\n', encoding="utf-8")
    c = load_config(tmp_path / "elsewhere", cfg)
    assert c.ignore == ["API004"] and c.thresholds.coverage_service == 90


def test_config_file_pyproject_style_and_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "shared.toml"
    cfg.write_text('[tool.fastapi-review]\nexclude = ["gen/**"]\n', encoding="utf-8")
    assert load_config(tmp_path, cfg).exclude == ["gen/**"]
    with pytest.raises(UsageError, match="config file not found"):
        load_config(tmp_path, tmp_path / "missing.toml")
    cfg.write_text("not = [toml", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_config(tmp_path, cfg)
    cfg.write_text("bogus = 1\n", encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_config(tmp_path, cfg)
    assert str(exc.value).startswith(f"{cfg}: bogus: unknown key")


def test_gate_timeouts_model() -> None:
    t = GateTimeouts(default=10, tests=20, bandit=5)
    assert [t.for_gate(g) for g in ("bandit", "tests", "ruff", "unknown")] == [5, 20, 10, 10]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_review", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_bad_config_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    proj = tmp_path / "orders"
    shutil.copytree(ORDERS, proj)
    text = (proj / "pyproject.toml").read_text("utf-8")
    (proj / "pyproject.toml").write_text(
        text.replace("coverage-overall = 80", "coverage-overall = 180"), encoding="utf-8"
    )
    proc = run_cli(str(proj), "--no-tests", "--gates", "none", "--sarif", str(tmp_path / "x"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        f"fastapi-review: error: {proj.resolve() / 'pyproject.toml'}: [tool.fastapi-review] "
        "thresholds.coverage-overall: input should be less than or equal to 100"
    ]
    assert proc.stdout == ""
    assert not (proj / "code-review.md").exists() and not (tmp_path / "x").exists()


def test_cli_config_option(tmp_path: Path) -> None:
    proj = tmp_path / "orders"
    shutil.copytree(ORDERS, proj)
    cfg = tmp_path / "strict.toml"
    cfg.write_text('select = ["ASY"]\n', encoding="utf-8")
    out = tmp_path / "r.json"
    proc = run_cli(
        str(proj), "--no-tests", "--gates", "none", "--config", str(cfg), "--json", str(out), "-q"
    )
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(out.read_text("utf-8"))["findings"]
    # the rule engine runs only ASY* rules, whatever the project's pyproject says
    own = {f["rule"] for f in findings if f["source"] == "fastapi-review"}
    # (API001 did not run, so its suppressions are not called unused; SUP* is not selected)
    assert own == {"ASY001"}, own
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds]\nmax-complexity = -1\n", encoding="utf-8")
    proc = run_cli(str(proj), "--config", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"fastapi-review: error: {bad}: thresholds.max-complexity: input should be greater than 0"
    )
