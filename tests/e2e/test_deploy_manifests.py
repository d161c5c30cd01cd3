"""deploy/ manifests are valid for a real kube-apiserver 1.33 (server-side dry run: schema,
defaulting and admission, nothing persisted)."""

from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.parametrize("manifest", ["components.yaml", "high-availability.yaml"])
def test_manifest_passes_server_side_dry_run(cp, manifest):
    out = cp.kubectl("apply", "--dry-run=server", "-f", str(DEPLOY / manifest), check=False)
    assert out.returncode == 0, out.stderr
    created = [l for l in out.stdout.splitlines() if "(server dry run)" in l]
    kinds = {l.split("/")[0].split(".")[0] for l in created}
    assert {"serviceaccount", "clusterrole", "rolebinding", "clusterrolebinding", "service", "deployment", "apiservice"} <= kinds, out.stdout
    if manifest == "high-availability.yaml":
        assert any(l.startswith("poddisruptionbudget") for l in created), out.stdout


def test_custom_metrics_manifest_passes_server_side_dry_run(cp):
    out = cp.kubectl("apply", "--dry-run=server", "-f", str(DEPLOY / "custom-metrics.yaml"), check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("apiservice.apiregistration.k8s.io/") == 3, out.stdout
    assert "clusterrole.rbac.authorization.k8s.io/kubemetrics:metrics-pusher" in out.stdout
