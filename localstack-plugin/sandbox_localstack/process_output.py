"""What a function process writes (stdout and stderr, one pipe), kept for its invocations' logs.

The pipe is read continuously, so the process can never block on a full pipe. Reads happen only under the lock;
once an invocation is complete, `drain` reads whatever is still in the pipe, so the invocation's log has every line
written before its result. Positions (`length`, `since`) let an invocation take exactly its own part.
"""

from __future__ import annotations

import os
import select
import threading

KEEP_BYTES = 64 * 1024  # what `tail` shows about an environment, and what a trim keeps
TRIM_BYTES = 1024 * 1024


def _readable(fd: int, timeout_s: float) -> bool:
    """Whether a read on `fd` would not block (data or end of file). poll(), not select(): select() refuses
    descriptors above 1023, which LocalStack reaches with a few dozen live environments."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000))


class ProcessOutput:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._closed = False

    def attach(self, fd: int) -> None:
        """Read the new process's pipe from now on (the previous one's reader stops by itself)."""
        with self._lock:
            self._fd = fd
        threading.Thread(target=self._read, args=(fd,), name="lambda-output", daemon=True).start()

    def close(self) -> None:
        self._closed = True

    def length(self) -> int:
        with self._lock:
            return len(self._buffer)

    def trim(self) -> int:
        """Forget old output beyond TRIM_BYTES (between processes only); returns the new length."""
        with self._lock:
            if len(self._buffer) > TRIM_BYTES:
                del self._buffer[:-KEEP_BYTES]
            return len(self._buffer)

    def since(self, position: int) -> str:
        with self._lock:
            return bytes(self._buffer[position:]).decode(errors="replace")

    def tail(self) -> str:
        with self._lock:
            return bytes(self._buffer[-KEEP_BYTES:]).decode(errors="replace")

    def drain(self) -> None:
        with self._lock:
            fd = self._fd
            if fd is None:
                return
            try:
                while _readable(fd, 0):
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    self._buffer.extend(chunk)
            except OSError:
                pass

    def _read(self, fd: int) -> None:
        try:
            while True:
                if not _readable(fd, 0.5):
                    if self._closed or self._fd != fd:
                        break
                    continue
                with self._lock:
                    # `drain` may have emptied the pipe since the poll above; a blocking read on an empty pipe
                    # would hold the lock until the process writes again, stalling the invocation for good.
                    if not _readable(fd, 0):
                        continue
                    chunk = os.read(fd, 65536)
                    if chunk:
                        self._buffer.extend(chunk)
                if not chunk:
                    break
        except OSError:
            pass
        finally:
            with self._lock:
                if self._fd == fd:
                    self._fd = None
                os.close(fd)
