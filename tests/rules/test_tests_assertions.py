"""TST003: tests that assert nothing; a test named for "no error" that calls the code is one."""

from __future__ import annotations

from fastapi_review.rules.examples import run_example
from fastapi_review.rules.tests_rules import TestWithoutAssertion

SOURCE = """
def apply(member_id: int) -> None:
    if member_id < 0:
        return
"""

TESTS = """
from app.events import apply


def test_unknown_member_is_ignored() -> None:
    apply(-1)


def test_apply_does_not_raise() -> None:
    apply(3)


def test_apply() -> None:
    apply(3)


def test_print_is_ignored() -> None:
    print("x")
"""


def test_no_error_tests_that_call_the_code_are_not_reported() -> None:
    files = {"app/events.py": SOURCE, "tests/test_events.py": TESTS}
    found = run_example(TestWithoutAssertion, files)
    lines = TESTS.strip("\n").splitlines()
    expected = sorted(
        i
        for i, line in enumerate(lines, 1)
        if line.startswith(("def test_apply()", "def test_print_is_ignored"))
    )
    assert sorted((f.path, f.line) for f in found) == [
        ("tests/test_events.py", n) for n in expected
    ]
