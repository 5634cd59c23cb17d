"""Test files handed to the workers longest first, from the times a whole run recorded.

With one test file to a worker (``--dist loadfile``) the run ends when the last file ends:
a long file handed out last (the browser tests, a court's validators) ran alone on one core
while the other had nothing left. The order comes from ``tests/durations.txt`` (seconds per
file, setup and teardown included), which ``--record-durations`` writes at the end of a run;
files it does not list (new ones) go first, as their cost is unknown. Without the list, the
order is the collection's. xdist's own reordering (by number of tests, a poor guess of time)
is turned off in the Makefile (``--no-loadscope-reorder``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

LIST = Path(__file__).with_name("durations.txt")
_spent: defaultdict[str, float] = defaultdict(float)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        action="store_true",
        help=f"write each test file's time to {LIST.name} at the end of the run",
    )


def recorded() -> dict[str, float]:
    """Seconds per test file (its path from the checkout), as last recorded."""
    if not LIST.exists():
        return {}
    times = {}
    for line in LIST.read_text(encoding="utf-8").splitlines():
        seconds, _, path = line.partition(" ")
        if path and not line.startswith("#"):
            times[path] = float(seconds)
    return times


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(trylast=True)  # after the conftests that drop items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    times = recorded()
    if times:
        # sort is stable: a file's tests keep their order (and their module fixtures)
        items.sort(key=lambda item: -times.get(file_of(item.nodeid), float("inf")))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # On the controller (or the only process) every phase of every test arrives here.
    _spent[file_of(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not config.getoption("--record-durations") or hasattr(config, "workerinput"):
        return
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return  # an interrupted run has not timed every file
    lines = [f"{seconds:.1f} {path}" for path, seconds in sorted(_spent.items(), key=_longest)]
    header = "# seconds per test file, longest first: python -m pytest --record-durations\n"
    LIST.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


def _longest(entry: tuple[str, float]) -> tuple[float, str]:
    path, seconds = entry
    return (-seconds, path)
