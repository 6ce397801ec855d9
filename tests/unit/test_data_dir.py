"""Where ztc keeps its files by default: an absolute folder, never the current directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import data_dir, default_database_url


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("ZTC_DATA_DIR", "STATE_DIRECTORY", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_person_keeps_it_in_their_xdg_data_folder(bare: Path) -> None:
    assert data_dir() == bare / "home" / ".local" / "share" / "ztc"


def test_xdg_data_home_moves_it(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(bare / "xdg"))
    assert data_dir() == bare / "xdg" / "ztc"


def test_a_systemd_service_keeps_it_in_its_state_directory(
    bare: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(bare / "xdg"))
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/ztc:/var/lib/other")  # StateDirectory=ztc …
    assert data_dir() == Path("/var/lib/ztc")


def test_ztc_data_dir_wins(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/ztc")
    monkeypatch.setenv("ZTC_DATA_DIR", "relative/data")
    assert data_dir() == bare / "relative" / "data"  # made absolute once, where it was read
    assert default_database_url() == f"sqlite:///{bare / 'relative' / 'data' / 'ztc.db'}"
