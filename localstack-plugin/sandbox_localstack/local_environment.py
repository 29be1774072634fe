"""One Lambda execution environment as a local OS process: a runtime (AWS's runtime interface client for Python,
the sandbox's Node.js runtime for Node.js; see launch.py) running the function's handler from the unzipped code,
behind a per-environment Runtime API server.

Plain class, no LocalStack imports; `executor.py` adapts it to LocalStack's RuntimeExecutor interface.

Lifetime rules:
- The process stays in LocalStack's process group (no setsid), so a SIGTERM to that group stops it too.
- It also holds the read end of its own "lifeline" pipe whose write end only LocalStack holds: when LocalStack
  dies for any reason (even SIGKILL), the pipe closes and the process exits (bootstrap.py, node/runtime.mjs).
  One pipe per process: Node.js makes the descriptor it reads non-blocking, which must not reach anyone else.
- The executor owns timeouts and process death: a timed out invocation kills the process; a process that ends
  completes its invocation with an error at once. The next invocation starts a fresh process (AWS resets
  the sandbox the same way).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from sandbox_localstack import lambda_env
from sandbox_localstack.launch import Launch
from sandbox_localstack.process_output import ProcessOutput
from sandbox_localstack.runtime_api import Invocation, Mailbox, RuntimeApiServer

LOG = logging.getLogger(__name__)
# When this LocalStack started: functions may tell a person that what they look for was lost in a restart.
STARTED_AT = datetime.fromtimestamp(psutil.Process().create_time(), UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str
    runtime: str
    code_dir: str
    timeout_s: float
    memory_mb: int
    version: str = "$LATEST"


@dataclass(frozen=True)
class InvokeResult:
    payload: bytes
    is_error: bool
    logs: str


class LocalEnvironment:
    def __init__(self, spec: FunctionSpec, base_env: dict[str, object], launch: Launch) -> None:
        self.spec = spec
        self.launch = launch
        self._base_env = base_env
        self._mailbox = Mailbox()
        self._server = RuntimeApiServer(self._mailbox, lambda_env.normalize_runtime_error)
        self._tmp_dir = tempfile.mkdtemp(prefix=f"lambda-{spec.name[:40]}-")
        self._process: subprocess.Popen[bytes] | None = None
        self._lifeline_write_fd: int | None = None  # never written; closing it (or dying) tells the process to go
        self._lifeline_lock = threading.Lock()  # stop() and an invocation may both kill the process
        self._generation = 0
        self._output = ProcessOutput()
        self._process_output_start = 0
        self._spawned_at = 0.0
        self._init_ms: float | None = None
        self._cold = False  # the next invocation is the first one of the current process
        self._stopped = False

    # lifecycle ------------------------------------------------------------------------------------------------

    def start(self, init_timeout_s: float = 60.0) -> None:
        """Start the runtime and wait until its init is over (ready, failed or exited); init errors are reported
        by the first invocation, as on AWS."""
        self._server.start()
        self._spawn()
        self._wait_for_init(time.monotonic() + init_timeout_s)
        if self._stopped:
            raise RuntimeError("execution environment was stopped while starting")

    def stop(self) -> None:
        self._stopped = True
        self._output.close()
        self._kill()
        with contextlib.suppress(Exception):
            self._server.stop()
        shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def output(self) -> str:
        return self._output.tail()

    # invocation -----------------------------------------------------------------------------------------------

    def invoke(
        self, request_id: str, payload: bytes, invoked_function_arn: str, trace_id: str, *, retry: bool = True
    ) -> InvokeResult:
        started = time.monotonic()
        deadline = started + self.spec.timeout_s
        with self._mailbox.changed:
            ready, init_error, exited = self._mailbox.ready, self._mailbox.init_error, self._mailbox.exited
        init_outcome_unreported = self._cold and (init_error is not None or (exited and not ready))
        if self._process is None or ((exited or init_error is not None) and not init_outcome_unreported):
            # After a timeout, a crash or a failed init: a fresh runtime, initialised within this invocation.
            self._spawn()
            self._wait_for_init(deadline)
        with self._mailbox.changed:
            ready, init_error = self._mailbox.ready, self._mailbox.init_error
            exited, returncode = self._mailbox.exited, self._mailbox.returncode
        log_start = self._process_output_start if self._cold else self._output.length()
        init_ms = self._init_ms if self._cold else None
        self._cold = False

        if init_error is not None or (exited and not ready):
            result = init_error if init_error is not None else lambda_env.exit_error(request_id, returncode)
            self._kill()
            return self._finish(request_id, result, True, log_start, started, init_ms, 0, init_failed=True)
        if not ready:  # init did not finish within the function's timeout
            self._kill()
            return self._finish(
                request_id,
                lambda_env.timeout_error(request_id, self.spec.timeout_s),
                True,
                log_start,
                started,
                init_ms,
                0,
                timed_out=True,
            )

        invocation = Invocation(
            request_id=request_id,
            payload=payload,
            invoked_function_arn=invoked_function_arn,
            trace_id=trace_id,
            deadline_ms=int((time.time() + (deadline - time.monotonic())) * 1000),
        )
        if not self._mailbox.submit(invocation):  # the runtime died just now
            invocation.finish(lambda_env.exit_error(request_id, self._mailbox.returncode), True)
        invocation.done.wait(max(0.0, deadline - time.monotonic()))
        timed_out = invocation.finish(lambda_env.timeout_error(request_id, self.spec.timeout_s), True)
        if retry and not invocation.delivered and not timed_out and not self._stopped:
            # The runtime ended before it took this invocation (Node.js exits after an uncaught exception, just
            # after reporting it): as on AWS, a fresh runtime gets it instead of it failing with the old one.
            return self.invoke(request_id, payload, invoked_function_arn, trace_id, retry=False)
        max_memory_mb = self._max_memory_mb()
        if timed_out:
            self._kill()
        return self._finish(
            request_id,
            invocation.result,
            invocation.is_error,
            log_start,
            started,
            init_ms,
            max_memory_mb,
            timed_out=timed_out,
        )

    def _finish(
        self,
        request_id: str,
        payload: bytes,
        is_error: bool,
        log_start: int,
        started: float,
        init_ms: float | None,
        max_memory_mb: int,
        *,
        timed_out: bool = False,
        init_failed: bool = False,
    ) -> InvokeResult:
        duration_ms = (time.monotonic() - started) * 1000
        self._output.drain()
        function_output = self._output.since(log_start)
        error_type = lambda_env.error_type_of(payload) if is_error else None
        # AWS adds a status to REPORT for failures of the runtime itself, not for exceptions of the handler.
        platform_error = bool(error_type and error_type.startswith("Runtime."))
        if function_output and not function_output.endswith("\n"):
            function_output += "\n"
        logs = ""
        if init_failed:
            logs += function_output + lambda_env.init_report_line(init_ms or 0.0, error_type)
            function_output = ""
        logs += lambda_env.start_line(request_id, self.spec.version) + function_output
        if timed_out:
            logs += lambda_env.timeout_log_line(request_id, self.spec.timeout_s)
        logs += lambda_env.end_lines(
            request_id,
            duration_ms=duration_ms,
            memory_mb=self.spec.memory_mb,
            max_memory_mb=max_memory_mb,
            init_ms=None if init_failed else init_ms,
            status="timeout" if timed_out else ("error" if platform_error else None),
            error_type=error_type if platform_error else None,
        )
        return InvokeResult(payload=payload, is_error=is_error, logs=logs)

    # process management ---------------------------------------------------------------------------------------

    def _spawn(self) -> None:
        self._kill()
        self._output.drain()  # the old process's last words belong before the new process's output
        self._generation = self._mailbox.reset()
        read_fd, write_fd = os.pipe()
        lifeline, lifeline_write = os.pipe()  # close-on-exec; pass_fds hands only the read end over
        with self._lifeline_lock:
            self._lifeline_write_fd = lifeline_write
        env = lambda_env.build_function_env(
            self._base_env,
            runtime=self.spec.runtime,
            task_root=self.spec.code_dir,
            runtime_dir=self.launch.runtime_dir,
            runtime_api=self._server.address,
            tmp_dir=self._tmp_dir,
            bin_dir=self.launch.bin_dir,
            runtime_variables=self.launch.variables,
            lifeline_fd=lifeline,
        )
        env["SANDBOX_STARTED_AT"] = STARTED_AT
        self._process_output_start = self._output.trim()
        self._spawned_at = time.monotonic()
        self._init_ms = None
        try:
            self._process = subprocess.Popen(
                self.launch.argv,
                cwd=self.spec.code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                pass_fds=(lifeline,),
            )
        finally:
            os.close(write_fd)
            os.close(lifeline)
        self._output.attach(read_fd)
        self._cold = True
        generation, process = self._generation, self._process
        threading.Thread(target=self._watch, args=(process, generation), name="lambda-watch", daemon=True).start()

    def _wait_for_init(self, deadline: float) -> None:
        with self._mailbox.changed:
            while not (
                self._mailbox.ready
                or self._mailbox.init_error is not None
                or self._mailbox.exited
                or self._mailbox.closed
                or self._stopped
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._mailbox.changed.wait(min(remaining, 0.5))
        self._init_ms = (time.monotonic() - self._spawned_at) * 1000

    def _watch(self, process: subprocess.Popen[bytes], generation: int) -> None:
        returncode = process.wait()
        self._mailbox.report_exit(generation, returncode, lambda_env.exit_error)

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                LOG.warning("Lambda process %s did not exit after SIGKILL", process.pid)
        with self._lifeline_lock:
            lifeline_write, self._lifeline_write_fd = self._lifeline_write_fd, None
        if lifeline_write is not None:
            os.close(lifeline_write)

    def _max_memory_mb(self) -> int:
        process = self._process
        if process is None:
            return 0
        try:
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return max(1, int(line.split()[1]) // 1024)
        except (OSError, ValueError, IndexError):
            pass
        return 0
