"""Where photo bytes live. Only the disk store is implemented: one process on one host
needs nothing more, and boto3 is a heavy dependency for an unused path. An S3-compatible
store implements the same two methods (put_object/get_object under the same key)."""

import os
import tempfile
from pathlib import Path
from typing import Protocol


class MediaStore(Protocol):
    def put(self, digest: str, data: bytes) -> None: ...

    def get(self, digest: str) -> bytes | None: ...


class DiskStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        # Two levels of fan-out keep directories small at millions of photos.
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, digest: str, data: bytes) -> None:
        path = self._path(digest)
        if path.exists():  # content-addressed: same name, same bytes
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)

    def get(self, digest: str) -> bytes | None:
        path = self._path(digest)
        return path.read_bytes() if path.exists() else None
