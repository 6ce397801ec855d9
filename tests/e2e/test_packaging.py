"""ztc installs like a Python package: its wheel, put into a fresh virtual environment outside
the checkout, runs `ztc demo` from there — the example city, the migrations, the policy, the
catalogs and the page all travel inside the package."""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

from tests.support.paths import ROOT


def test_the_wheel_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a clean copy: no build/ left over from an earlier build
    junk = (".venv", ".git", "build", "*.egg-info", "test-artifacts", "__pycache__", ".*_cache")
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*junk))
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels)]
    subprocess.run([*build, str(source)], check=True, capture_output=True)  # as `pip install .`
    (wheel,) = wheels.glob("ztc-*.whl")
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    # The dependencies come from this environment's site-packages, as a plain path: its .pth
    # files (the checkout's editable install among them) are not read from there.
    (own,) = [Path(p) for p in site.getsitepackages() if Path(p).name == "site-packages"]
    target = next((home / "lib").glob("python3*/site-packages"))
    (target / "deps.pth").write_text(f"{own}\n", encoding="utf-8")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    subprocess.run([*install, "-q", "--no-index", str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZTC_", "PYTHON"))}
    env["ZTC_DEFAULT_LOCALE"] = "en"
    where = subprocess.run(
        [str(python), "-c", "import bot, models; print(bot.__file__, models.__file__)"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(ROOT) not in where and str(home) in where, where

    demo = subprocess.Popen(
        [str(home / "bin" / "ztc"), "demo", "--port", "0", "--at", "2026-11-20T09:00"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        url = ""
        for line in demo.stdout:  # "The demo is ready: open http://… in a browser."
            if "http://" in line:
                url = line.split("open ", 1)[1].split()[0]
                break
        assert url, demo.stderr.read() if demo.stderr else ""
        with urllib.request.urlopen(f"{url}/api/state?since=-1", timeout=30) as answer:
            state = json.load(answer)
        assert len(state["people"]) > 20 and state["clock"]["iso"].startswith("2026-11-20")
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert "ztc · demo" in answer.read().decode("utf-8")  # the page, in English
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
    assert code == 0, demo.stderr.read() if demo.stderr else ""
    assert not list(elsewhere.iterdir())  # nothing written where it ran
