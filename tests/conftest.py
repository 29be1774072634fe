"""Session-wide reporting shared by all test folders.

Fault-matrix tests record how many hostile cases they tried with `record_property("fault_cases", n)`; the sum
per test is printed at the end of every run (not only with -s), so the report shows how much was tried.
"""

from __future__ import annotations

import pytest

CASES_PROPERTY = "fault_cases"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counted: dict[str, int] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == CASES_PROPERTY:
                    counted[report.nodeid] = counted.get(report.nodeid, 0) + int(value)
    if not counted:
        return
    terminalreporter.section("hostile input cases tried")
    for nodeid, cases in sorted(counted.items()):
        terminalreporter.write_line(f"{cases:5d}  {nodeid}")
    terminalreporter.write_line(f"{sum(counted.values()):5d}  in total")
