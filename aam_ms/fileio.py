"""Safe file output: every tool writes through ``atomic_write`` (temp file in the target folder,
fsync, rename), so a crash or Ctrl-C never leaves a half-written file under the final name and
a finished file always has the user's normal permissions (umask, not ``mkstemp``'s 0600).
"""
import contextlib
import os
import tempfile


def _umask_mode(mode=0o666):
    """``mode`` filtered by the process umask (read without changing it for other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return mode & ~int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0)
    os.umask(old)
    return mode & ~old


@contextlib.contextmanager
def atomic_write(path, mode="wb", suffix=None):
    """Yield a temp path (``mode=None``) or an open file; rename it onto ``path`` on success.

    ``with atomic_write(p) as f: f.write(b)``; ``with atomic_write(p, mode=None) as tmp:
    writer(tmp)`` for libraries that want a file name (``suffix`` keeps the extension they need).
    On any exception (KeyboardInterrupt included) the temp file is removed and ``path`` untouched.
    """
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{base}.tmp-",
                               suffix=suffix if suffix is not None else os.path.splitext(base)[1])
    try:
        if mode is None:
            os.close(fd)
            yield tmp
        else:
            with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    """Atomically write a UTF-8 text file."""
    with atomic_write(path, "w") as f:
        f.write(text)


def write_bytes(path, data):
    """Atomically write a binary file."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def check_new_file(path, overwrite=False, label=""):
    """Refuse (``cli.UserError``) an output ``path`` before any work: a folder, an existing file
    (unless ``overwrite``), or a place where no file can be created — probed with a temp file in
    the nearest existing folder, so a read-only mount is caught as well as permissions."""
    from .cli import UserError
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserError(f"{label}{path} is a folder; give a file name")
    if os.path.exists(path) and not overwrite:
        raise UserError(f"{label}{path} already exists; choose another name or pass --overwrite")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".write-probe-"):
            pass
    except OSError as e:
        raise UserError(f"{label}cannot write {path}: {folder} is not writable "
                        f"({e.strerror})") from None
