"""The DuckDB extensions the lake needs, installed offline from their PyPI wheels.

`duckdb-extension-<name>` wheels hold only the binary; DuckDB loads an extension from its
extension directory once `INSTALL '<file>'` has copied it there. We do that into one directory
(settings.duckdb_extension_dir) that every process and dbt (profiles.yml `extension_directory`)
uses, and never let DuckDB download anything (`autoinstall_known_extensions` off).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from govpulse.settings import duckdb_extension_dir
from govpulse.warehouse.sql import literal

# the name DuckDB installs each as -> the PyPI package that carries it
EXTENSIONS = {
    "ducklake": "duckdb-extension-ducklake",
    "postgres_scanner": "duckdb-extension-postgres",  # its file is postgres.duckdb_extension
    "httpfs": "duckdb-extension-httpfs",
}


class ExtensionMissing(RuntimeError):
    """An extension's wheel is not installed in this Python environment."""


def duckdb_version() -> str:
    return "v" + duckdb.__version__


def wheel_file(name: str) -> Path:
    """The extension binary inside its PyPI wheel, or ExtensionMissing naming the package."""
    package = EXTENSIONS[name]
    spec = importlib.util.find_spec(package.replace("-", "_"))
    stem = package.removeprefix("duckdb-extension-")
    if spec is not None and spec.origin:
        found = (Path(spec.origin).parent / "extensions" / duckdb_version()
                 / f"{stem}.duckdb_extension")
        if found.is_file():
            return found
    raise ExtensionMissing(
        f"the DuckDB extension {name!r} for DuckDB {duckdb.__version__} is not installed: "
        f"install the PyPI package {package}=={duckdb.__version__} (it is in pyproject.toml: "
        "`uv sync --frozen`)")


@functools.cache
def platform() -> str:
    """DuckDB's platform name (linux_amd64, ...), part of every extension's path."""
    with contextlib.closing(duckdb.connect()) as con:
        return str(con.execute("PRAGMA platform").fetchall()[0][0])


def installed_file(directory: Path, name: str) -> Path:
    """Where DuckDB looks for an installed extension: <dir>/<version>/<platform>/<name>."""
    return directory / duckdb_version() / platform() / f"{name}.duckdb_extension"


def connection_config(directory: Path | None = None) -> dict[str, Any]:
    """duckdb.connect(config=...) for a connection that loads the lake's extensions from the
    project directory and never downloads (dbt's profiles.yml sets the same)."""
    return {"extension_directory": str(directory or duckdb_extension_dir()),
            "autoinstall_known_extensions": False, "autoload_known_extensions": True}


def ensure_installed(directory: Path | None = None) -> Path:
    """Install every extension into `directory` (default settings.duckdb_extension_dir) unless
    it is there already; return the directory. Safe when several processes do it at once: one
    holds a file lock, installs into a temporary folder and renames each file into place, so a
    reader never sees half a binary."""
    directory = (directory or duckdb_extension_dir()).expanduser().resolve()
    if _complete(directory):
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / ".install.lock"):
        if not _complete(directory):  # another process may have finished while we waited
            _install(directory)
    return directory


def _complete(directory: Path) -> bool:
    return all(installed_file(directory, name).is_file() for name in EXTENSIONS)


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def _install(directory: Path) -> None:
    sources = {name: wheel_file(name) for name in EXTENSIONS}  # fail before touching anything
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=directory))
    try:
        con = duckdb.connect(config={"extension_directory": str(staging),
                                     "autoinstall_known_extensions": False})
        with contextlib.closing(con):
            for source in sources.values():
                con.execute(f"INSTALL {literal(str(source))}")
        for name in EXTENSIONS:
            built, target = installed_file(staging, name), installed_file(directory, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            # the .info (where it came from) first: the binary's presence means "installed"
            info = built.with_name(built.name + ".info")
            if info.exists():
                os.replace(info, target.with_name(target.name + ".info"))
            os.replace(built, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load(con: duckdb.DuckDBPyConnection, *names: str, directory: Path | None = None) -> None:
    """Install (if needed) and LOAD `names` (default: all) on an open connection, pointing it
    at the project directory and switching downloads off."""
    directory = ensure_installed(directory)
    con.execute(f"SET extension_directory = {literal(str(directory))}")
    con.execute("SET autoinstall_known_extensions = false")
    for name in names or tuple(EXTENSIONS):
        con.execute(f"LOAD {name}")
