"""Parsing received mail in a child process: the catcher's heaviest step, off the server process's GIL.

Reading a message (MIME split, headers, bodies, links, search text) is pure Python and about half of what a
message costs the catcher. In the server process it competes for the one GIL with the SMTP conversations and the
web UI; in a child it runs on another core while the server goes on talking SMTP and committing the batch before.
The store's writer thread sends a batch of raw messages and reads back their records: length-prefixed pickles
over the child's stdin and stdout (the child is ours, started from this package, and nothing else writes to those
pipes). A child that dies or answers out of turn is replaced, and the batch it held is refused with 451, which
tells the sender to try again. The child ends when its stdin closes, so it never outlives the catcher.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import struct
import subprocess
import sys
from typing import IO, Any

from . import record as records

_FRAME = struct.Struct("!Q")
MAX_FRAME = 1 << 31  # a length beyond this is not one of ours: the pipe is out of step


class ParseFailed(Exception):
    """One message the parser could not read (the rest of its batch is unaffected)."""


class ParserGone(Exception):
    """The child died or answered out of turn: the batch it held was not parsed."""


Item = tuple[bytes, str, list[str]]  # raw message, envelope sender, envelope recipients


def parse_batch(items: list[Item]) -> list[records.Record | ParseFailed]:
    results: list[records.Record | ParseFailed] = []
    for raw, sender, recipients in items:
        try:
            results.append(records.build(raw, sender, recipients))
        except Exception as exc:  # parsing never raises on malformed mail by design; this is the safety net
            results.append(ParseFailed(f"{type(exc).__name__}: {exc}"))
    return results


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_FRAME.pack(len(payload)) + payload)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> bytes:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise EOFError("the pipe closed")
    (length,) = _FRAME.unpack(header)
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes")
    payload = stream.read(length)
    if len(payload) < length:
        raise EOFError("the pipe closed mid-frame")
    return payload


class ParserProcess:
    """The parent's end: one child, used by one thread (the store's writer) at a time."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def start(self) -> None:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE)

    def parse_many(self, items: list[Item]) -> list[records.Record | ParseFailed]:
        self.start()
        child = self._child
        assert child is not None and child.stdin is not None and child.stdout is not None
        try:
            _write_frame(child.stdin, pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))
            results: Any = pickle.loads(_read_frame(child.stdout))  # noqa: S301 - our own child's answer
        except (OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
            self.close()
            raise ParserGone(f"the parser process stopped ({exc})") from exc
        if not isinstance(results, list) or len(results) != len(items):
            self.close()
            raise ParserGone("the parser process answered out of turn")
        return results

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            child.wait(2)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> int:
    """The child: parse batches from stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent decides
    frames_in, frames_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the frame pipe
    while True:
        try:
            items = pickle.loads(_read_frame(frames_in))  # noqa: S301 - sent by our own parent
        except EOFError:
            return 0
        _write_frame(frames_out, pickle.dumps(parse_batch(items), protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    sys.exit(main())
