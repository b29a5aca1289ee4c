"""Files shipped inside the package, read alike from a source checkout, a wheel or a zip.

``spark-submit --py-files dist/careplus_spark.zip`` puts the zip first on the driver's and
the executors' ``PYTHONPATH``: the package is then imported from the zip, and a path built
from ``__file__`` points inside it, where nothing can be opened. Package data is therefore
reached through :mod:`importlib.resources`:

- :func:`resource` gives a :class:`~importlib.resources.abc.Traversable` to read: the plain
  :class:`~pathlib.Path` of an installed or checked-out package (as before), a
  :class:`zipfile.Path` inside a zip;
- :func:`real_path` gives a real file or folder, for what another program opens by name
  (the JVM's log4j configuration, the configuration folder): a zip's copy is extracted into
  a private temp folder, once per content.

Example:
    >>> resource("careplus_spark.silver", "mappings", "logs.yaml").is_file()
    True
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["Traversable", "real_path", "resource"]


def resource(package: str, *parts: str) -> Traversable:
    """The packaged file or folder ``parts`` of ``package`` (it may not exist).

    Args:
        package: a package, e.g. ``careplus_spark.quality``.
        parts: path segments below it, e.g. ``"rules"``.
    """
    found = resources.files(package)
    for part in parts:
        found = found / part
    return found


def real_path(item: Traversable) -> Path:
    """A real file or folder with the content of ``item``: itself when it is one already.

    A file or folder inside a zip is copied to ``<tmp>/careplus-<uid>/<digest>-<name>`` (a
    folder only this user can write), named by a digest of its content, so that every process
    reuses one copy and a changed zip gets a new one.
    """
    if isinstance(item, Path):
        return item
    digest = hashlib.sha256()
    _digest(item, digest)
    target = _private_dir() / f"{digest.hexdigest()[:16]}-{item.name}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        try:
            _copy(item, staging / item.name)
            try:
                (staging / item.name).rename(target)
            except OSError:  # another process extracted the same content meanwhile
                if not target.exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _private_dir() -> Path:
    """``<tmp>/careplus-<uid>``, created with mode 0700; refused when another user owns it."""
    folder = Path(tempfile.gettempdir()) / f"careplus-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or folder.stat().st_uid != os.getuid():
        raise PermissionError(f"{folder} is not a folder of this user: cannot extract package data there")
    return folder


def _digest(item: Traversable, digest: hashlib._Hash) -> None:
    digest.update(item.name.encode() + b"\0")
    if item.is_dir():
        for child in sorted(item.iterdir(), key=lambda c: c.name):
            _digest(child, digest)
        digest.update(b"/")
    else:
        data = item.read_bytes()
        digest.update(len(data).to_bytes(8, "big") + data)


def _copy(item: Traversable, target: Path) -> None:
    if item.is_dir():
        target.mkdir()
        for child in item.iterdir():
            _copy(child, target / child.name)
    else:
        target.write_bytes(item.read_bytes())
