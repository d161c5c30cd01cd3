"""The release-check example, the README quick start and the type stubs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import BINDING, REPO, Loopback, venv_bin

EXAMPLE = REPO / "examples" / "python" / "release_check.py"
PROVIDER_EXAMPLE = REPO / "examples" / "python" / "custom_metrics_provider.py"


def run_example(loopback: Loopback, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--kubeconfig", str(loopback.kubeconfig), *args],
        capture_output=True, text=True, timeout=60,
    )


def test_release_check_passes_under_the_thresholds(loopback: Loopback) -> None:
    out = run_example(loopback, "-l", "app=web", "--max-cpu-percent", "1000", "--max-memory-percent", "1500",
                      "--max-cpu", "2", "--max-memory", "2Gi", "--label", "before")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[before] 2 pod(s) in default matching app=web"
    assert lines[1].split() == ["POD", "CPU", "MEMORY", "CPU%REQ", "MEM%REQ"]
    # Every fixture container requests 100m / 64Mi: 1501m of 200m, 1538Mi of 128Mi (truncated).
    assert lines[2].split() == ["web-7f9c-fghij", "1501m", "1538Mi", "750%", "1201%"]
    assert lines[3].split() == ["web-7f9c-abcde", "2m", "17060Ki", "1%", "13%"]
    assert lines[4].split() == ["TOTAL", "1503m", "1591972Ki"]
    assert out.stderr == ""


def text_over_limit(loopback: Loopback, *limits: str) -> str:
    """The text report of a check of the web pods that one pod (web-7f9c-fghij) fails."""
    out = run_example(loopback, "-l", "app=web", *limits, "--label", "after")
    assert out.returncode == 1
    assert "1 pod(s) over the limit: web-7f9c-fghij" in out.stderr
    return out.stdout


def json_over_limit(loopback: Loopback, *limits: str) -> Any:
    """The JSON report of a check of the web pods that fails."""
    out = run_example(loopback, "-l", "app=web", *limits, "--json")
    assert out.returncode == 1
    return json.loads(out.stdout)


def test_release_check_fails_over_a_percent_of_requests(loopback: Loopback) -> None:
    assert "OVER LIMIT: cpu 750% of request > 500%" in text_over_limit(loopback, "--max-cpu-percent", "500")
    doc = json_over_limit(loopback, "--max-memory-percent", "10")
    assert doc["over_limit"] == ["web-7f9c-fghij", "web-7f9c-abcde"]
    assert (doc["label"], doc["namespace"], doc["selector"]) == ("now", "default", "app=web")
    assert doc["pods"][1] == {
        "name": "web-7f9c-abcde", "cpu": "1969654n", "memory": "17060Ki", "cpu_request": "200m", "memory_request": "128Mi",
        "cpu_percent": 1, "memory_percent": 13, "over_limit": ["memory 13% of request > 10%"],
    }
    assert [p["name"] for p in doc["top"]["pods"]] == ["web-7f9c-fghij", "web-7f9c-abcde"]


def test_release_check_keeps_the_absolute_limits(loopback: Loopback) -> None:
    assert "OVER LIMIT: cpu 1501m > 1" in text_over_limit(loopback, "--max-cpu", "1")
    doc = json_over_limit(loopback, "--max-memory", "100Mi")
    assert doc["over_limit"] == ["web-7f9c-fghij"]
    assert doc["pods"][0]["over_limit"] == ["memory 1538Mi > 100Mi"]


def test_release_check_percent_comes_from_pod_requests(loopback: Loopback) -> None:
    """The example's figures are exactly PodRequests.cpu_percent / memory_percent of the rows."""
    import kubemetrics

    client = kubemetrics.Client(loopback.kubeconfig)
    requests = {r.name: r for r in client.pod_requests("kube-system")}
    top = client.top_pods(namespace="kube-system", sort_by="cpu")
    out = run_example(loopback, "-n", "kube-system", "-l", "tier!=none", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [(p["name"], p["cpu_percent"], p["memory_percent"]) for p in doc["pods"]] == [
        (row.name, requests[row.name].cpu_percent(row.cpu), requests[row.name].memory_percent(row.memory)) for row in top
    ]


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


@pytest.mark.parametrize("path", [EXAMPLE, PROVIDER_EXAMPLE, *(BINDING / "tests" / f for f in (
    "test_types.py", "test_quantity.py", "test_custom_metrics.py", "test_custom_provider.py", "test_lazy_sequences.py"))])
def test_typed_users_type_check(path: Path) -> None:
    """Code using the package passes `mypy --strict` against the stubs."""
    out = subprocess.run(
        [venv_bin("mypy"), "--strict", "--no-error-summary", "--ignore-missing-imports", "--no-incremental",
         "--cache-dir", os.devnull, str(path)],
        capture_output=True, text=True, timeout=300, cwd=BINDING / "tests",
    )
    assert out.returncode == 0, out.stdout + out.stderr
