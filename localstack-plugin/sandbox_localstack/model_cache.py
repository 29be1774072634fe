"""botocore parses the same service models again and again while LocalStack starts and serves its first calls.

Every botocore `Loader` caches what it loaded, but LocalStack, moto and each boto3 `Session` they make have their
own loader: in one `make up` LocalStack's process parsed 74 JSON files, 30 of them distinct (IAM's and S3's
service models 8 times each, the 1.2 MB `endpoints.json` 5 times): 1.3–1.8 s of its CPU, a fifth of the start.

`parse_each_model_file_once` keeps each model file it parsed, pickled, in memory and in a folder under LocalStack's
cache directory (the sandbox home in local mode), keyed by the file's path, size and modification time; a later
load, in this process or the next start, unpickles it (two to three times faster than gunzip and JSON with
`OrderedDict`). Every caller still gets its own fresh copy, as from the JSON file, so code that changes a loaded
model (LocalStack's spec patches, botocore's extras) changes only its own. The folder is the sandbox's private
home (0700): pickles are trusted only because nobody else can write there.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox_localstack.patches import wrap_once

FOLDER = "botocore-models"


class ModelFiles:
    """Pickled parses of botocore's JSON files: in memory, and on disk when a folder is given."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._pickles: dict[tuple[str, int, int], bytes] = {}
        self._lock = threading.Lock()

    def load(self, full_path: str, parse: Callable[[], Any]) -> Any:
        try:
            info = os.stat(full_path)
        except OSError:
            return parse()  # botocore's own answer for a missing file (None)
        key = (full_path, info.st_size, info.st_mtime_ns)
        with self._lock:
            blob = self._pickles.get(key)
        if blob is None:
            blob = self._read(key)
            if blob is None:
                data = parse()
                if data is None:
                    return None
                blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
                self._write(key, blob)
            with self._lock:
                self._pickles[key] = blob
        return pickle.loads(blob)  # noqa: S301 - written by this class into the sandbox's private home

    def _path(self, key: tuple[str, int, int]) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / (hashlib.sha256(repr(key).encode()).hexdigest()[:32] + ".pickle")

    def _read(self, key: tuple[str, int, int]) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes() if path else None
        except OSError:
            return None

    def _write(self, key: tuple[str, int, int], blob: bytes) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Whole files only: a start that reads it while another writes sees the old file or the new one.
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only or full disk: the memory cache still works


def parse_each_model_file_once(folder: Path | None) -> ModelFiles:
    from botocore.loaders import JSONFileLoader

    files = ModelFiles(folder)

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def _load_file(self: Any, full_path: str, open_method: Any) -> Any:
            return files.load(full_path, lambda: original(self, full_path, open_method))

        return _load_file

    wrap_once(JSONFileLoader, "_load_file", make)
    return files


def install() -> None:
    from localstack import config

    parse_each_model_file_once(Path(config.dirs.cache) / FOLDER if config.dirs.cache else None)
