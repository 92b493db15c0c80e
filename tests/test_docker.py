"""The deployment files, checked without a Docker engine: Dockerfiles and compose parse, every COPY source exists,
the entry point passes bash -n and shellcheck, the CPU image's install line resolves in a fresh venv and the
runtime starts from it, the health check reads a real heartbeat, and the guide's subscriber example works."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from runtime.sources import demo_source

from streamtools import finish, start

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted((ROOT / "docker").glob("Dockerfile.*"))


def instructions(path: Path) -> list[dict]:
    p = DockerfileParser(fileobj=open(path, "rb"))
    return p.structure


def test_dockerfiles_parse_and_copy_existing_sources():
    assert {p.name for p in DOCKERFILES} == {"Dockerfile.cpu", "Dockerfile.gpu", "Dockerfile.jetson"}
    for path in DOCKERFILES:
        ins = instructions(path)
        kinds = [i["instruction"] for i in ins]
        assert kinds.count("FROM") == 2, f"{path.name}: a text-encoder stage and a runtime stage"
        assert "ENTRYPOINT" in kinds and "HEALTHCHECK" in kinds and "USER" in kinds
        text = path.read_text()
        if path.name != "Dockerfile.cpu":
            assert re.search(r"^ARG BASE_IMAGE=", text, re.M) and "FROM ${BASE_IMAGE}" in text
        for i in ins:
            if i["instruction"] != "COPY" or "--from=" in i["value"]:
                continue
            *sources, _dest = i["value"].split()
            for src in sources:
                assert (ROOT / src).exists(), f"{path.name}:{i['startline'] + 1}: COPY source {src} is missing"


def test_compose_services():
    doc = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    assert set(doc["services"]) == {"cpu", "gpu", "jetson"}
    for svc in doc["services"].values():
        assert svc["ports"] == ["127.0.0.1:5556:5556"], "published on loopback only"
        assert svc["restart"] == "unless-stopped" and "healthcheck" in svc
        assert any(v.startswith("zsar-cache:/cache") for v in svc["volumes"])
        assert any(d.startswith("/dev/video") for d in svc["devices"])
        assert (ROOT / "docker" / svc["build"]["context"] / svc["build"]["dockerfile"]).exists()
    assert doc["services"]["gpu"]["runtime"] == doc["services"]["jetson"]["runtime"] == "nvidia"
    assert any("argus_socket" in v for v in doc["services"]["jetson"]["volumes"])


def test_entrypoint_is_valid_shell():
    script = ROOT / "docker" / "entrypoint.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout


def pip_lines(path: Path) -> list[str]:
    """The pip install commands of the runtime stage of a Dockerfile."""
    runtime_stage = path.read_text().split("\nFROM ")[-1]
    out = []
    for cmd in re.findall(r"^RUN (.+?)(?<!\\)$", runtime_stage, re.M | re.S):
        for part in cmd.replace("\\\n", " ").split("&&"):
            if "pip install" in part:
                out.append(part.strip())
    return out


@pytest.mark.timeout(1200)
def test_cpu_image_install_line_resolves_and_the_runtime_starts(tmp_path):
    lines = pip_lines(ROOT / "docker" / "Dockerfile.cpu")
    assert len(lines) == 2 and "requirements-runtime.txt" in lines[0] and "--no-deps ." in lines[1]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # the image's own commands, run from the repository root as the image's WORKDIR holds the same files
    for line in lines:
        cmd = line.replace("pip install", f"{py} -m pip install", 1)
        r = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=1100,
                           env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(py), "-m", "runtime.camera", "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--vocab" in r.stdout, r.stderr[-2000:]
    r = subprocess.run([str(py), "-c", "import torch"], capture_output=True, text=True)
    assert r.returncode != 0, "the runtime image must not carry torch"


def test_healthcheck_reads_a_real_heartbeat(tmp_path, bundle_dir):
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=1), duration=5)
    r = subprocess.run([sys.executable, "-m", "runtime.healthcheck", "--connect", app.publisher.endpoint, "--timeout", "4"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    finish(app, sub, thread)
    assert r.returncode == 0 and "healthy" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "runtime.healthcheck", "--connect", "tcp://127.0.0.1:5597", "--timeout", "1"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 1 and "no heartbeat" in r.stdout


def test_deploy_guide_subscriber_example_runs(tmp_path, bundle_dir):
    guide = (ROOT / "docs" / "deploy.md").read_text()
    code = re.search(r"```python\n(.+?)```", guide, re.S).group(1)
    assert len(code.strip().splitlines()) <= 16
    script = tmp_path / "subscriber.py"
    script.write_text(code)
    app, sub, thread, result = start(tmp_path, bundle_dir, lambda: demo_source(seed=2), speed=3.0, duration=10)
    proc = subprocess.Popen([sys.executable, str(script), app.publisher.endpoint], stdout=subprocess.PIPE, text=True)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    reader.start()
    finish(app, sub, thread)
    time.sleep(0.5)
    proc.kill()
    reader.join(2)
    text = "".join(out)
    assert "alive:" in text, text
    assert "started" in text and "ended" in text, text
