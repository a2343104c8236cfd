"""Schemathesis over /ari/openapi.json of a real pyari: every operation, every check.

A standing defence (issue 11): the server answers only what its OpenAPI
document declares, in the declared shapes, and never with a 5xx.

The run is bounded (``MAX_EXAMPLES`` per operation and phase, one worker, a
fixed seed) and sealed: this file re-runs itself as a script inside a new
network namespace (``unshare --net``) holding only a loopback interface, where
it starts pyari on 127.0.0.1 and runs ``st run`` against it.  Fuzzed requests
make pyari originate channels, send SIP MESSAGE/REFER and external media to
whatever host they name; in the namespace none of that can leave the machine.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve()
SEED = 20261207
MAX_EXAMPLES = 6
WALL_LIMIT = 240.0
"""Seconds one run may take before it is stopped (it takes 25-60 s per core on 2 cores)."""

SEMANTIC_REFUSALS = ["400", "412", "422"]
"""Answers that ``positive_data_acceptance`` counts as accepting a schema-valid request,
besides its defaults (2xx, 3xx, 401, 403, 404, 409, 429; 5xx is ``not_a_server_error``'s).

ARI validates what JSON Schema cannot say: an endpoint's syntax and technology,
combinations (snoop needs spy or whisper, originate needs an extension or an app), media
URIs and event source URIs, channels named in a bridge request that do not exist
(Asterisk's 400 Channel not found), NUL bytes in names, message counts below zero. These
are 400, as in Asterisk (most are its own checks and messages), and the document declares
that 400 on every operation; 412 and 422 are Asterisk's answers for an object in the wrong
state. Any other refusal of a schema-valid request (405, 413, 415 ...) fails the check, and
negative_data_rejection checks the other side (schema-invalid requests are refused)."""


LIVE_IDS: dict[str, list[str]] = {
    "channelId": ["fuzz-chan", "fuzz-other"],
    "bridgeId": ["fuzz-bridge"],
    "applicationName": ["fuzz", "hello"],
    "recordingName": ["fuzz-rec"],
    "deviceName": ["Stasis:fuzz-dev"],
    "mailboxName": ["fuzz-mb"],
    "tech": ["PJSIP", "Local"],
}
"""Path values naming objects made before the run (:func:`_make_objects`): without them
most operations only ever meet 404. Drawn with probability ``LIVE_ID_CHANCE``."""
LIVE_ID_CHANCE = 0.6


def _config() -> str:
    """Every check (Schemathesis' default set is all of them); ARI's semantic refusals
    count as accepting valid data (:data:`SEMANTIC_REFUSALS`)."""
    lines = ["[checks]"]
    lines.append(f"positive_data_acceptance.expected-statuses = {json.dumps(ACCEPTING)}")
    for name, values in LIVE_IDS.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    lines.append("[parameters]")
    lines += [
        f'"path.{name}" = {{ dictionary = "{name}", probability = {LIVE_ID_CHANCE} }}'
        for name in LIVE_IDS
    ]
    return "\n".join(lines) + "\n" + OPERATION_CONFIG


async def _make_objects(base: str, auth: str) -> tuple[Any, Any]:
    """Channels in Stasis (Up), a bridge with a live recording, a device state, a mailbox.

    Returns the events socket of the apps and the task draining it.
    """
    import aiohttp

    session = aiohttp.ClientSession(headers={"Authorization": auth})
    ws = await session.ws_connect(f"{base.replace('http', 'ws')}/events?app=fuzz,hello")

    async def drain() -> None:
        try:
            async for _ in ws:
                pass
        finally:
            await session.close()

    drainer = asyncio.get_running_loop().create_task(drain())
    steps: list[tuple[str, str, dict[str, str]]] = [
        (
            "POST",
            "/channels",
            {
                "endpoint": "Local/1000@ARI-test",
                "app": "fuzz",
                "channelId": "fuzz-chan",
                "otherChannelId": "fuzz-other",
            },
        ),
        ("POST", "/bridges", {"bridgeId": "fuzz-bridge", "type": "mixing"}),
        ("POST", "/bridges/fuzz-bridge/record", {"name": "fuzz-rec", "format": "wav"}),
        ("PUT", "/deviceStates/Stasis:fuzz-dev", {"deviceState": "BUSY"}),
        ("PUT", "/mailboxes/fuzz-mb", {"oldMessages": "1", "newMessages": "2"}),
    ]
    for method, path, params in steps:
        async with session.request(method, base + path, params=params) as r:
            assert r.status < 300, (path, r.status, await r.text())
    return ws, drainer


ACCEPTING = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", *SEMANTIC_REFUSALS]

OPERATION_CONFIG = f"""
# GET /events over plain HTTP is always 426 (Asterisk checks the upgrade before the
# parameters), so a bad subscribeAll cannot be answered 400 there, nor a good one 200;
# the socket's own checks are tested over real WebSockets (tests/http,
# tests/security/test_app_takeover.py).
[[operations]]
include-path = "/events"
checks.negative_data_rejection.enabled = false
checks.positive_data_acceptance.expected-statuses = {json.dumps([*ACCEPTING, "426"])}
"""


# -- the run, inside the namespace ------------------------------------------------------------


def _loopback_up() -> None:
    """Bring ``lo`` up in a fresh network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS, IFF_UP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifreq = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, ifreq)[:18])[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))


def _only_loopback() -> bool:
    return sorted(name for _, name in socket.if_nameindex()) == ["lo"]


def _summary(report: Path) -> dict[str, Any]:
    """Requests sent, statuses received and failed checks, from the NDJSON report."""
    statuses: collections.Counter[int] = collections.Counter()
    failed: collections.Counter[str] = collections.Counter()
    ran: set[str] = set()
    failures: list[str] = []
    operations: set[str] = set()
    for line in report.read_text().splitlines():
        event = json.loads(line)
        done = event.get("ScenarioFinished")
        if done is None:
            continue
        recorder = done["recorder"]
        interactions = recorder.get("interactions", {})
        for interaction in interactions.values():
            response = interaction.get("response") or {}
            statuses[int(response.get("status_code", 0))] += 1
        if interactions:
            operations.add(recorder["label"])
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                ran.add(check["name"])
                if check["status"] != "success":
                    failed[check["name"]] += 1
                    request = interactions.get(case_id, {}).get("request", {})
                    failures.append(
                        f"{check['name']}: {request.get('method')} {request.get('uri')}"
                    )
    return {
        "requests": sum(statuses.values()),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "failed_checks": dict(failed),
        "checks_run": sorted(ran),
        "operations_with_requests": len(operations),
        "failures": failures[:40],
    }


async def _serve_and_fuzz(work: Path) -> dict[str, Any]:
    os.environ["PYARI_STATE_DIR"] = str(work / "state")
    os.environ.setdefault("PYARI_HTTP_BACKEND", "httptools")
    from pyari.config import load_config
    from pyari.server import Server

    cfg = load_config(None)
    cfg = dataclasses.replace(
        cfg, http=dataclasses.replace(cfg.http, bindaddr="127.0.0.1", bindport=0)
    )
    user = next(u for u in cfg.ari.users.values() if not u.read_only)
    password = user.password
    assert password is not None
    server = Server(cfg, config_dir=None, sip_port=0)
    await server.start()
    import aiohttp

    base = f"http://127.0.0.1:{server.http_port}/ari"
    ws, drainer = await _make_objects(base, aiohttp.encode_basic_auth(user.name, password))
    try:
        (work / "schemathesis.toml").write_text(_config())
        st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
        command = [
            st,
            "--config-file",
            str(work / "schemathesis.toml"),
            "run",
            f"{base}/openapi.json",
            "--auth",
            f"{user.name}:{password}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(work / "report.ndjson"),
            "--no-color",
        ]
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=work,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), WALL_LIMIT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        summary = _summary(work / "report.ndjson")
        summary["exit_code"] = proc.returncode
        summary["seconds"] = round(time.monotonic() - started, 1)
        summary["output_tail"] = output.decode(errors="replace")[-6000:]
        return summary
    finally:
        await ws.close()
        await drainer
        await server.stop()


def main(work: Path) -> None:
    _loopback_up()
    if not _only_loopback():
        raise SystemExit("refusing to fuzz: the namespace has interfaces besides lo")
    summary = asyncio.run(_serve_and_fuzz(work))
    print("SUMMARY " + json.dumps(summary))


# -- the test ------------------------------------------------------------------------------------


def _unshare() -> list[str] | None:
    """The command that runs a program in a new network namespace: ``unshare --net`` as
    root, else inside a new user namespace too (``--map-root-user``, what an ordinary
    user may do where the kernel allows unprivileged user namespaces); None if neither."""
    if shutil.which("unshare") is None:
        return None
    for command in (["unshare", "--net"], ["unshare", "--map-root-user", "--net"]):
        probe = subprocess.run([*command, "true"], capture_output=True, timeout=10, check=False)
        if probe.returncode == 0:
            return command
    return None


@pytest.mark.slow
@pytest.mark.timeout(WALL_LIMIT + 60)
@pytest.mark.parametrize("backend", ["httptools", "aiohttp"])
def test_schemathesis_finds_nothing(tmp_path: Path, backend: str) -> None:
    unshare = _unshare()
    if unshare is None:
        pytest.skip("no network namespace (unshare --net) to seal the fuzzed server in")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "PYARI_HTTP_BACKEND": backend,
    }
    done = subprocess.run(
        [*unshare, sys.executable, str(HERE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=WALL_LIMIT + 30,
        env=env,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("SUMMARY ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(lines[-1].removeprefix("SUMMARY "))
    tail = summary.pop("output_tail")
    print(json.dumps(summary, indent=1))
    # Bounded and real: requests went to every operation, every check ran.
    assert summary["operations_with_requests"] >= 100, summary
    assert 1000 <= summary["requests"] <= 60_000, summary
    ran = set(summary["checks_run"])
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "ignored_auth",
    } <= ran, ran
    # Clean.
    assert summary["server_errors"] == 0, summary
    assert not summary["failed_checks"], (summary["failures"], tail)
    assert summary["exit_code"] == 0, tail


if __name__ == "__main__":
    main(Path(sys.argv[1]))
