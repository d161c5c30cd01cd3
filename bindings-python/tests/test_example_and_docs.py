"""The release-check example, the README quick start and the type stubs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BINDING, REPO, Loopback, venv_bin

EXAMPLE = REPO / "examples" / "python" / "release_check.py"


def run_example(loopback: Loopback, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--kubeconfig", str(loopback.kubeconfig), *args],
        capture_output=True, text=True, timeout=60,
    )


def test_release_check_passes_under_the_limits(loopback: Loopback) -> None:
    out = run_example(loopback, "-l", "app=web", "--max-cpu", "2", "--max-memory", "2Gi", "--label", "before")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[before] 2 pod(s) in default matching app=web"
    assert lines[2].split() == ["web-7f9c-fghij", "1501m", "1538Mi", "n/a"]
    assert lines[3].split() == ["web-7f9c-abcde", "2m", "17060Ki", "n/a"]
    assert lines[4].split() == ["TOTAL", "1503m", "1591972Ki"]


def test_release_check_fails_over_a_limit(loopback: Loopback) -> None:
    out = run_example(loopback, "-l", "app=web", "--max-cpu", "1", "--label", "after")
    assert out.returncode == 1
    assert "OVER LIMIT" in out.stdout
    assert "1 pod(s) over the limit: web-7f9c-fghij" in out.stderr
    out = run_example(loopback, "-l", "app=web", "--max-memory", "100Mi", "--json")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["over_limit"] == ["web-7f9c-fghij"]
    assert [p["name"] for p in doc["top"]["pods"]] == ["web-7f9c-fghij", "web-7f9c-abcde"]


def test_release_check_reports_errors(loopback: Loopback) -> None:
    loopback.control("metrics-api/off")
    out = run_example(loopback, "-l", "app=web")
    assert out.returncode == 2
    assert out.stderr.startswith("release-check: MetricsUnavailable: Metrics API not available")


def readme_quick_start() -> str:
    text = (BINDING / "README.md").read_text()
    match = re.search(r"<!-- quick start -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no quick start block"
    return match.group(1)


def test_readme_quick_start_runs(loopback: Loopback) -> None:
    code = readme_quick_start()
    assert len(code.strip().splitlines()) <= 10
    env = dict(os.environ, KUBECONFIG=str(loopback.kubeconfig))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "251" in out.stdout and "node-a" in out.stdout


def test_stubs_match_the_module() -> None:
    """mypy.stubtest checks kubemetrics/_native.pyi against the built extension."""
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "kubemetrics", "--concise"],
        capture_output=True, text=True, timeout=300, cwd=BINDING / "tests",
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", [EXAMPLE, BINDING / "tests" / "test_types.py", BINDING / "tests" / "test_quantity.py"])
def test_typed_users_type_check(path: Path) -> None:
    """Code using the package passes `mypy --strict` against the stubs."""
    out = subprocess.run(
        [venv_bin("mypy"), "--strict", "--no-error-summary", "--ignore-missing-imports", "--no-incremental",
         "--cache-dir", os.devnull, str(path)],
        capture_output=True, text=True, timeout=300, cwd=BINDING / "tests",
    )
    assert out.returncode == 0, out.stdout + out.stderr
