"""A function process's output on a real pipe: every line written before a drain is there, positions give each
invocation its own part, and old output is trimmed between processes."""

import os

from sandbox_localstack import process_output
from sandbox_localstack.process_output import ProcessOutput


def test_drain_has_everything_written_so_far_and_since_gives_each_part():
    output = ProcessOutput()
    read_fd, write_fd = os.pipe()
    output.attach(read_fd)
    try:
        os.write(write_fd, b"init line\n")
        output.drain()
        start = output.length()
        os.write(write_fd, b"first invocation\n")
        output.drain()

        assert output.since(0) == "init line\nfirst invocation\n"
        assert output.since(start) == "first invocation\n"
        assert output.tail().endswith("first invocation\n")
    finally:
        output.close()
        os.close(write_fd)


def test_trim_keeps_the_last_bytes_once_the_buffer_is_large(monkeypatch):
    monkeypatch.setattr(process_output, "TRIM_BYTES", 10)
    monkeypatch.setattr(process_output, "KEEP_BYTES", 4)
    output = ProcessOutput()
    read_fd, write_fd = os.pipe()
    output.attach(read_fd)
    try:
        os.write(write_fd, b"0123456789abcdef")
        output.drain()
        assert output.trim() == 4
        assert output.since(0) == "cdef"
    finally:
        output.close()
        os.close(write_fd)
