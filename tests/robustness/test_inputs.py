"""Bad input files: the review completes, reviews the rest, and says what it skipped and why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.robustness.conftest import review, skipped


def test_syntax_error_is_skipped_with_its_line(mini: Path) -> None:
    (mini / "app" / "broken.py").write_text("def f(:\n    return 1\n", encoding="utf-8")
    result = review(mini)
    assert skipped(result)["app/broken.py"].startswith("syntax error at line 1")
    assert "app/pricing.py" in result.files_reviewed


def _newer_syntax() -> str | None:
    """Code that only a newer Python than the running one parses."""
    if sys.version_info < (3, 12):
        return "type Price = int\n"  # PEP 695, Python 3.12
    if sys.version_info < (3, 14):
        return "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n"  # PEP 758, 3.14
    return None


def test_syntax_newer_than_the_running_python_is_skipped_and_says_so(mini: Path) -> None:
    code = _newer_syntax()
    if code is None:
        pytest.skip("no syntax newer than this Python is known to the test")
    (mini / "app" / "future.py").write_text(code, encoding="utf-8")
    result = review(mini)
    reason = skipped(result)["app/future.py"]
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert "syntax error" in reason and f"newer than Python {ver}" in reason


def test_non_utf8_file_without_declaration_is_skipped(mini: Path) -> None:
    (mini / "app" / "legacy.py").write_bytes(b'NAME = "caf\xe9"\n')
    result = review(mini)
    assert skipped(result)["app/legacy.py"] == "not valid UTF-8"


def test_non_utf8_file_with_a_coding_declaration_is_reviewed(mini: Path) -> None:
    (mini / "app" / "legacy.py").write_bytes(b'# -*- coding: latin-1 -*-\nNAME = "caf\xe9"\n')
    result = review(mini)
    assert "app/legacy.py" in result.files_reviewed
    assert "app/legacy.py" not in skipped(result)


def test_binary_py_file_is_skipped(mini: Path) -> None:
    (mini / "app" / "blob.py").write_bytes(bytes(range(256)) * 8)
    result = review(mini)
    assert skipped(result)["app/blob.py"] == "binary file (contains NUL bytes)"


def test_empty_files_are_reviewed(mini: Path) -> None:
    (mini / "app" / "empty.py").write_bytes(b"")
    (mini / "app" / "blank.py").write_text("\n\n   \n", encoding="utf-8")
    result = review(mini)
    assert {"app/empty.py", "app/blank.py", "app/__init__.py"} <= set(result.files_reviewed)
    assert not skipped(result)


def test_a_10_mb_generated_module_is_reviewed_in_bounded_time(mini: Path) -> None:
    # the shape of generated code (protobuf, OpenAPI clients): big tables and many tiny functions
    row = '    ("{i:07d}", "product {i} in the generated catalogue", {i}, {p}.{c:02d}),\n'
    parts = ['"""Generated. Do not edit."""\n\nCATALOGUE = [\n']
    size = len(parts[0])
    i = 0
    while size < 10_200_000:
        line = row.format(i=i, p=i % 997, c=i % 100)
        parts.append(line)
        size += len(line)
        i += 1
    parts.append("]\n\n")
    parts += [
        f"def price_{n}(q: int) -> float:\n    return CATALOGUE[{n}][3] * q\n\n\n"
        for n in range(3000)
    ]
    text = "".join(parts)
    assert len(text.encode()) >= 10_000_000
    (mini / "app" / "generated_catalogue.py").write_text(text, encoding="utf-8")
    started = time.monotonic()
    result = review(mini)
    elapsed = time.monotonic() - started
    assert "app/generated_catalogue.py" in result.files_reviewed
    assert elapsed < 240, f"static review of a 10 MB module took {elapsed:.0f} s"


def test_symlink_loops_and_dangling_links_do_not_hang_or_crash(mini: Path) -> None:
    (mini / "app" / "loop").symlink_to("..", target_is_directory=True)  # app/loop -> project
    (mini / "app" / "self").symlink_to(".", target_is_directory=True)  # app/self -> app
    (mini / "app" / "a.py").symlink_to("b.py")  # a.py -> b.py -> a.py
    (mini / "app" / "b.py").symlink_to("a.py")
    (mini / "app" / "gone.py").symlink_to("does_not_exist.py")
    result = review(mini)
    reasons = skipped(result)
    assert reasons["app/a.py"] == "broken symbolic link"
    assert reasons["app/b.py"] == "broken symbolic link"
    assert reasons["app/gone.py"] == "broken symbolic link"
    assert not any("/loop/" in p or "/self/" in p for p in result.files_reviewed)
    assert "app/pricing.py" in result.files_reviewed


def test_a_fifo_named_py_is_skipped_not_read(mini: Path) -> None:
    # reading a named pipe blocks until a writer appears: the review must not even open it
    os.mkfifo(mini / "app" / "pipe.py")
    result = review(mini)
    assert skipped(result)["app/pipe.py"] == "named pipe (FIFO): not read"


UNREADABLE_CHILD = r"""
import sys
from pathlib import Path
from fastapi_review.pipeline import run_review
from fastapi_review.workspace import open_workspace
result = run_review(open_workspace(Path(sys.argv[1]), run_tests=False), gates=[])
for s in result.skipped:
    print(f"{s.path}\t{s.reason}")
print("reviewed\t" + ",".join(result.files_reviewed))
"""


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    """A file the reviewer may not read (EACCES).

    The suite may run as root, whom chmod 000 does not stop (CAP_DAC_OVERRIDE). Then the
    review runs in a child process whose capability bounding set lacks CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH (util-linux `setpriv`), so the permission bits hold as for any user.
    """
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "ok.py").write_text("X = 1\n", encoding="utf-8")
    secret = root / "app" / "secret.py"
    secret.write_text("TOKEN = 'x'\n", encoding="utf-8")
    secret.chmod(0o000)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux setpriv: cannot make a file unreadable")
        drop = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}"]
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-c", UNREADABLE_CHILD, str(root)],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(os.environ, FASTAPI_REVIEW_NO_CACHE="1"),
        )
    finally:
        secret.chmod(0o644)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split("\t", 1) for line in proc.stdout.splitlines())
    assert lines["app/secret.py"] == "not readable: Permission denied"
    assert "app/ok.py" in lines["reviewed"].split(",")


def test_a_tree_without_python_is_a_usage_error(tmp_path: Path) -> None:
    from fastapi_review.errors import UsageError

    (tmp_path / "notes.md").write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no Python code found"):
        review(tmp_path)
