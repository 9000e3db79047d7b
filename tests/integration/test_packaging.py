"""The wheel built from this repo installs into a clean virtualenv and registers the provider."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.unit.test_readme_description import relative_links

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def archive_header(wheel: Path) -> str:
    """The header fields of a wheel's METADATA (before the description)."""
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        return archive.read(metadata).decode().split("\n\n", 1)[0]


def test_wheel_installs_and_registers_in_a_clean_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("airflow_provider_twin-*.whl")
    # The description PyPI will show: the README, whose links must work outside the repository.
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        description = archive.read(metadata).decode().split("\n\n", 1)[1]
    assert "Content-Type: text/markdown" in archive_header(wheel)
    assert "make demo" in description
    assert relative_links(description) == []

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    # Airflow itself comes from the test environment (no downloads in tests); the provider
    # comes only from the wheel: the clean venv's own site-packages is searched first.
    clean_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (clean_site / "zz_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    check = textwrap.dedent(
        """
        import airflow_provider_twin, importlib.metadata as md
        from airflow.providers_manager import ProvidersManager
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
        assert airflow_provider_twin.__file__.startswith(%r), airflow_provider_twin.__file__
        assert md.version("airflow-provider-twin") == "0.1.0"
        manager = ProvidersManager()
        assert "airflow-provider-twin" in manager.providers, sorted(manager.providers)
        hook = ProvidersManagerTaskRuntime().hooks["twin"]
        assert hook.hook_class_name == "airflow_provider_twin.hooks.twin.TwinHook"
        import airflow_provider_twin.client, airflow_provider_twin.emulator
        from importlib.resources import files
        assert files("airflow_provider_twin").joinpath("py.typed").is_file()
        print("registered")
        """
    ) % str(clean_site)
    result = subprocess.run(
        [str(python), "-c", check], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "registered" in result.stdout
