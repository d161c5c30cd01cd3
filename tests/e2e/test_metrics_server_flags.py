"""Every flag of the real metrics-server is accepted by ``kubemetrics serve`` (issue 17).

The real binary (v0.8.0, the latest approved release, built from the Go module proxy by
``benchmarks/build-metrics-server.sh`` when missing) is asked for ``--help``; every flag it lists
is handed to ``kubemetrics serve --dry-run`` alone, with a value of its type, and must be accepted.
Flags kubemetrics does not act on must be named in exactly one warning; flags it implements in
none. A v0.9.0 binary already built (``metrics-server-v0.9.0``) is checked the same way; it is
not built here (v0.9.0 is served but not an approved release).

Skipped only when the binary is missing and Go, needed to build it, is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import METRICS_SERVER_VERSION, bin_dir, ensure_metrics_server
from metrics_stack import build_kubemetrics

DEFAULT_VERSION = METRICS_SERVER_VERSION

# A flag line of pflag's help: "  -l, --node-selector string   Selector ..." / "      --profiling   ...".
FLAG_LINE = re.compile(r"^\s+(?:-[A-Za-z], )?--([a-z0-9][a-z0-9-]*)(?: ([A-Za-z0-9]+))?(?:\s{2,}|$)")

# A value for each pflag type name of the help.
BY_TYPE = {
    "string": "x",
    "strings": "a,b",
    "int": "1",
    "int32": "1",
    "int64": "1",
    "uint": "1",
    "float": "0.01",
    "float32": "0.01",
    "duration": "1s",
    "ip": "127.0.0.1",
    "Level": "2",
    "pattern": "server=2",
    "quantity": "1Mi",
    "namedCertKey": "/tmp/sni.crt,/tmp/sni.key:example.com",
    "colonSeparatedMultimapStringString": "kube:SomeGate=true",
    "mapStringBool": "SomeGate=true",
    "mapStringString": "api/all=true",
    "int32Slice": "23,29",
    "ints": "23,29",
}

# Values a type's generic value would not satisfy (names checked like metrics-server checks them),
# and flags that must come in pairs.
OVERRIDES = {
    "tls-cipher-suites": ["--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
    "tls-min-version": ["--tls-min-version=VersionTLS12"],
    "tls-curve-preferences": ["--tls-curve-preferences=23,29"],
    "cors-allowed-origins": [r"--cors-allowed-origins=//example\.com(:|$),^https://a\.example$"],
    "strict-transport-security-directives": ["--strict-transport-security-directives=max-age=31536000,includeSubDomains"],
    "metric-resolution": ["--metric-resolution=30s"],
    "kubelet-request-timeout": ["--kubelet-request-timeout=5s"],
    "kubelet-preferred-address-types": ["--kubelet-preferred-address-types=InternalIP,Hostname"],
    "tls-cert-file": ["--tls-cert-file=/tmp/c.crt", "--tls-private-key-file=/tmp/c.key"],
    "tls-private-key-file": ["--tls-cert-file=/tmp/c.crt", "--tls-private-key-file=/tmp/c.key"],
    "kubelet-client-certificate": ["--kubelet-client-certificate=/tmp/k.crt", "--kubelet-client-key=/tmp/k.key"],
    "kubelet-client-key": ["--kubelet-client-certificate=/tmp/k.crt", "--kubelet-client-key=/tmp/k.key"],
    "secure-port": ["--secure-port=4443"],
    "kubelet-port": ["--kubelet-port=10250"],
    "node-selector": ["--node-selector=kubernetes.io/os=linux"],
    "logging-format": ["--logging-format=text"],
    "emulated-version": ["--emulated-version=kube=1.33"],
    "runtime-config": ["--runtime-config=api/all=true"],
    "audit-log-mode": ["--audit-log-mode=batch"],
    "audit-webhook-mode": ["--audit-webhook-mode=batch"],
}

# Flags kubemetrics acts on (no "has no effect" warning allowed for them).
IMPLEMENTED = {
    "kubeconfig", "metric-resolution", "version", "advertise-address", "cors-allowed-origins", "external-hostname",
    "max-requests-inflight", "request-timeout", "strict-transport-security-directives",
    "deprecated-kubelet-completely-insecure", "kubelet-certificate-authority", "kubelet-client-certificate",
    "kubelet-client-key", "kubelet-insecure-tls", "kubelet-port", "kubelet-preferred-address-types",
    "kubelet-request-timeout", "kubelet-use-node-status-port", "node-selector", "bind-address", "cert-dir",
    "disable-http2-serving", "http2-max-streams-per-connection", "permit-address-sharing", "permit-port-sharing",
    "secure-port", "tls-cert-file", "tls-cipher-suites", "tls-min-version", "tls-private-key-file",
    "tls-curve-preferences", "authentication-kubeconfig", "authentication-skip-lookup",
    "authentication-tolerate-lookup-failure", "client-ca-file", "requestheader-allowed-names",
    "requestheader-client-ca-file", "requestheader-extra-headers-prefix", "requestheader-group-headers",
    "requestheader-username-headers", "authorization-always-allow-paths", "authorization-kubeconfig", "v",
}


def metrics_server_binaries() -> dict[str, Path]:
    """version -> binary: v0.8.0 (built when missing), and v0.9.0 when it is already there."""
    b = bin_dir()
    path = b / f"metrics-server-{DEFAULT_VERSION}"
    if not os.access(path, os.X_OK) and shutil.which("go") is None:
        pytest.skip(f"metrics-server {DEFAULT_VERSION} is not built in {b} and Go, needed to build it, is absent")
    path = ensure_metrics_server()
    found = {DEFAULT_VERSION: path}
    newer = b / "metrics-server-v0.9.0"
    if not os.access(newer, os.X_OK) and (b / "metrics-server.version").is_file() \
            and (b / "metrics-server.version").read_text().strip() == "v0.9.0":
        newer = b / "metrics-server"  # built by the earlier script, which made v0.9.0 the default
    if os.access(newer, os.X_OK):
        found["v0.9.0"] = newer
    return found


def help_flags(binary: Path) -> dict[str, str | None]:
    """flag name -> pflag type name (None for booleans), from ``--help``."""
    r = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    flags: dict[str, str | None] = {}
    for line in (r.stdout + r.stderr).splitlines():
        m = FLAG_LINE.match(line)
        if m and m.group(1) != "help":
            flags[m.group(1)] = m.group(2)
    assert len(flags) > 80, f"too few flags parsed from {binary} --help: {sorted(flags)}"
    return flags


def argv_for(name: str, kind: str | None) -> list[str]:
    if name in OVERRIDES:
        return OVERRIDES[name]
    if kind is None:
        return [f"--{name}"]
    assert kind in BY_TYPE, f"no sample value for --{name} of type {kind}: add one to BY_TYPE"
    return [f"--{name}={BY_TYPE[kind]}"]


@pytest.fixture(scope="module")
def kubemetrics() -> Path:
    return build_kubemetrics()


@pytest.fixture(scope="module")
def binaries() -> dict[str, Path]:
    return metrics_server_binaries()


def dry_run(kubemetrics: Path, args: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
    env["NO_COLOR"] = "1"
    return subprocess.run([str(kubemetrics), "serve", "--dry-run", *args], capture_output=True, text=True, timeout=60, env=env)


def test_the_real_binary_is_the_approved_release(binaries):
    r = subprocess.run([str(binaries[DEFAULT_VERSION]), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == DEFAULT_VERSION, (r.stdout, r.stderr)


def test_every_metrics_server_flag_is_accepted_alone(kubemetrics, binaries):
    refused, warned_wrong = [], []
    checked = 0
    for version, binary in binaries.items():
        for name, kind in sorted(help_flags(binary).items()):
            if name == "version":
                continue  # exits at once; see test_version_prints_like_metrics_server
            r = dry_run(kubemetrics, argv_for(name, kind))
            checked += 1
            if r.returncode != 0:
                refused.append(f"{version} --{name} ({kind or 'bool'}): {r.stderr.strip()[-300:]}")
                continue
            warnings = [line for line in r.stderr.splitlines() if f"--{name} has no effect" in line]
            if name in IMPLEMENTED and warnings:
                warned_wrong.append(f"{version} --{name} is implemented but warned about: {warnings}")
            if name not in IMPLEMENTED and len(warnings) != 1:
                warned_wrong.append(f"{version} --{name} has no effect and needs exactly one warning naming it, got {len(warnings)}:\n{r.stderr}")
    assert not refused, f"{len(refused)} of {checked} metrics-server flags refused by kubemetrics serve:\n" + "\n".join(refused)
    assert not warned_wrong, "\n".join(warned_wrong)


def test_all_flags_at_once_and_repeated(kubemetrics, binaries):
    flags = help_flags(binaries[DEFAULT_VERSION])
    # Exclusive with --kubelet-certificate-authority / client certificates (refused together, as metrics-server does).
    skip = {"version", "kubelet-insecure-tls", "deprecated-kubelet-completely-insecure"}
    argv: list[str] = []
    for name, kind in sorted(flags.items()):
        if name not in skip:
            argv += argv_for(name, kind)
    r = dry_run(kubemetrics, argv + argv)  # a flag given twice takes its last value, as with pflag
    assert r.returncode == 0, r.stderr[-3000:]
    for name in flags:
        if name not in IMPLEMENTED and name not in skip:
            assert r.stderr.count(f"--{name} has no effect") == 1, f"--{name}: {r.stderr}"


def test_bad_values_are_refused_with_go_messages(kubemetrics):
    cases = {
        "--tls-cipher-suites=TLS_NOT_A_SUITE": "Cipher suite TLS_NOT_A_SUITE not supported or doesn't exist",
        "--tls-min-version=VersionTLS14": 'unknown tls version "VersionTLS14"',
        "--tls-curve-preferences=65535": "invalid --tls-curve-preferences value",
        "--cors-allowed-origins=example.com": "does not pin to the start and end of the host",
        "--advertise-address=not-an-ip": "failed to parse IP",
        "--audit-log-maxage=x": "strconv.ParseInt",
        "--profiling=maybe": "strconv.ParseBool",
        "--no-such-flag": "unexpected argument",
    }
    for arg, message in cases.items():
        r = dry_run(kubemetrics, [arg])
        assert r.returncode != 0, f"{arg} was accepted"
        assert message in r.stderr, f"{arg}: {r.stderr}"
    r = dry_run(kubemetrics, ["--kubelet-insecure-tls", "--kubelet-certificate-authority=/ca.crt"])
    assert r.returncode != 0 and "cannot use both --kubelet-certificate-authority and --kubelet-insecure-tls" in r.stderr


def test_version_prints_like_metrics_server(kubemetrics, binaries):
    ours = subprocess.run([str(kubemetrics), "serve", "--version"], capture_output=True, text=True, timeout=60)
    theirs = subprocess.run([str(binaries[DEFAULT_VERSION]), "--version"], capture_output=True, text=True, timeout=60)
    assert ours.returncode == theirs.returncode == 0
    shape = re.compile(r"^v\d+\.\d+\.\d+\S*\n$")
    assert shape.match(theirs.stdout) and shape.match(ours.stdout), (theirs.stdout, ours.stdout)
    assert ours.stderr == ""
