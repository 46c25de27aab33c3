"""Replace a published folder (Parquet of a relation, Data Docs, a bulletin) in one step, so a
reader finds the previous complete folder or the new one, never half of one."""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from pathlib import Path


def replace_folder(new: Path, final: Path) -> None:
    """Put the finished folder `new` in place of `final` and remove the previous one."""
    if final.exists() and exchange(new, final):
        shutil.rmtree(new, ignore_errors=True)  # holds the previous folder now
        return
    # No atomic exchange here: the old folder moves aside and the new one takes its name (two
    # renames on one file system; a reader may find no folder for that instant, never half).
    old = final.with_name(f".{final.name}.{os.getpid()}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
