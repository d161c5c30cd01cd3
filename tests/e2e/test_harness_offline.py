"""The harness's own plumbing, checked without a control plane (seconds, no binaries needed).

- ``build-control-plane.sh`` run twice at once on one cache: the runs take turns (a flock in the cache
  dir), the second logs that it waits and then skips what the first built. A fake ``go`` on PATH stands in
  for the Go toolchain, so nothing is downloaded or compiled; the cache is a scratch directory.

Run: python3 -m pytest tests/e2e/test_harness_offline.py -q
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import BUILD_SCRIPT

# --------------------------------------------------------------------------------------------
# build-control-plane.sh: one run at a time per cache
# --------------------------------------------------------------------------------------------
# Enough of `go` for build_k8s: `env GOVERSION`, `mod download -json` (the path of a go.mod requiring
# one staging module at v0.0.0), `get`, and `build -o OUT`, which writes OUT at once (as the linker
# creates its output early) and then takes a while, logging when it starts and ends.
FAKE_GO = r"""#!/bin/sh
case "$1" in
  env) echo go1.25.0 ;;
  mod) printf '{\n\t"Path": "k8s.io/kubernetes",\n\t"GoMod": "%s"\n}\n' "$FAKE_GO_MOD" ;;
  get) ;;
  build)
    out=""
    while [ $# -gt 0 ]; do
      if [ "$1" = -o ]; then out="$2"; shift; fi
      shift
    done
    echo "start $$" >>"$FAKE_GO_LOG"
    printf '#!/bin/sh\necho "Kubernetes fake"\n' >"$out"
    chmod +x "$out"
    sleep "$FAKE_GO_SECONDS"
    echo "end $$" >>"$FAKE_GO_LOG"
    ;;
  *) echo "fake go: unexpected: $*" >&2; exit 2 ;;
esac
"""

FAKE_KUBERNETES_GO_MOD = "module k8s.io/kubernetes\n\ngo 1.24.0\n\nrequire (\n\tk8s.io/api v0.0.0\n)\n"


def _fake_toolchain(tmp_path: Path) -> dict[str, str]:
    tools = tmp_path / "tools"
    tools.mkdir()
    go = tools / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    gomod = tmp_path / "kubernetes.go.mod"
    gomod.write_text(FAKE_KUBERNETES_GO_MOD)
    env = dict(os.environ)
    env.update({
        "PATH": f"{tools}{os.pathsep}{env.get('PATH', '')}",
        "KM_CACHE_DIR": str(tmp_path / "cache"),
        "FAKE_GO_MOD": str(gomod),
        "FAKE_GO_LOG": str(tmp_path / "go-builds.log"),
        "FAKE_GO_SECONDS": "2",
    })
    return env


def _start_build(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(["bash", str(BUILD_SCRIPT), "kube-apiserver"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) is not installed")
def test_two_builds_at_once_take_turns(tmp_path: Path):
    env = _fake_toolchain(tmp_path)
    first, second = _start_build(env), _start_build(env)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    for p, (out, err) in zip((first, second), outputs):
        assert p.returncode == 0, f"exit {p.returncode}\n{err}"
    stderrs = [err for _, err in outputs]
    waited = [e for e in stderrs if re.search(r"another build-control-plane run is using .*; waiting for it to finish", e)]
    assert len(waited) == 1, "exactly one run had to wait, and said so:\n" + "\n-----\n".join(stderrs)
    assert re.search(r"kube-apiserver v[\d.]+ already built: .* \(skip\)", waited[0]), waited[0]
    builds = [line.split()[0] for line in (tmp_path / "go-builds.log").read_text().splitlines()]
    assert builds == ["start", "end"], f"one build, not two: {builds}"
    binary = tmp_path / "cache" / "bin" / "kube-apiserver"
    assert subprocess.run([str(binary)], capture_output=True, text=True).stdout == "Kubernetes fake\n"
    assert not (tmp_path / "cache" / "bin" / "kube-apiserver.tmp").exists()


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) is not installed")
def test_a_lone_build_does_not_wait(tmp_path: Path):
    env = _fake_toolchain(tmp_path)
    env["FAKE_GO_SECONDS"] = "0"
    r = subprocess.run(["bash", str(BUILD_SCRIPT), "kube-apiserver"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "waiting" not in r.stderr
    assert "built kube-apiserver" in r.stderr
