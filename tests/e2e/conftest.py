"""pytest wiring for the loopback control-plane e2e tests.

- Binaries missing -> build-control-plane.sh runs (long, loud) before any test; if it fails, every test
  errors with its message. Likewise helm missing -> build-helm.sh (fixture ``helm_bin``, only for the tests
  that use it), and the real metrics-server missing -> benchmarks/build-metrics-server.sh (fixture
  ``metrics_server_bin``). Nothing is skipped for lack of binaries (the one possible skip: the Python binding test
  when the binding was not built, with that reason).
- A failing test gets the last 100 lines of every control-plane process log as a report section.
- Durations the tests measured (metrics_stack.TIMINGS) are printed in the terminal summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ControlPlane, HarnessError, ensure_binaries, ensure_helm, ensure_metrics_server  # noqa: E402
from metrics_stack import TIMINGS  # noqa: E402


def _built(request, ensure, what: str) -> Path:
    """``ensure()``'s path; a cold build runs for minutes, so its progress reaches the terminal
    instead of pytest's capture, and a failed build fails the test with its message."""
    capman = request.config.pluginmanager.getplugin("capturemanager")
    error = None
    with capman.global_and_fixture_disabled():
        try:
            return ensure()
        except HarnessError as e:
            error = str(e)
    pytest.fail(f"cannot get {what}: {error}", pytrace=False)


@pytest.fixture(scope="session")
def control_plane_bin(request) -> Path:
    return _built(request, ensure_binaries, "the control-plane binaries")


@pytest.fixture(scope="session")
def helm_bin(request) -> Path:
    """The pinned helm, built by build-helm.sh when missing (progress straight to the terminal)."""
    return _built(request, ensure_helm, "helm")


@pytest.fixture(scope="session")
def metrics_server_bin(request) -> Path:
    """The real metrics-server, built by benchmarks/build-metrics-server.sh when missing."""
    return _built(request, ensure_metrics_server, "metrics-server")


@pytest.fixture(scope="module")
def cp(control_plane_bin: Path):
    with ControlPlane() as plane:
        yield plane


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        plane = getattr(item, "funcargs", {}).get("cp")
        if isinstance(plane, ControlPlane) and plane.procs:
            rep.sections.append(("control-plane process logs", plane.logs_text()))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if TIMINGS:
        terminalreporter.section("e2e timings (seconds)")
        for line in TIMINGS:
            terminalreporter.write_line(line)
