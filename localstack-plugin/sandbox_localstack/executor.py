"""LocalStack's RuntimeExecutor interface on top of `LocalEnvironment` (one local process per environment).

LocalStack drives the lifecycle (start on demand, stop on keep-alive expiry, on function update/delete and on
shutdown); this adapter translates. Invocations are handed to the environment directly in this process, so
LocalStack's HTTP round trips to a container's init (`/invoke`, `/status/.../ready`, `/invocations/.../logs`)
are not needed: `invoke` returns the result with its START/END/REPORT logs, like the init's endpoint would.
"""

from __future__ import annotations

import logging
import sys

from localstack import config
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor
from localstack.utils.strings import to_bytes

from sandbox_localstack import lambda_env, node_runtime
from sandbox_localstack.launch import Launch, node_launch, python_launch
from sandbox_localstack.local_environment import FunctionSpec, LocalEnvironment

LOG = logging.getLogger(__name__)


class LocalRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:  # noqa: A002 - LocalStack's signature
        super().__init__(id=id, function_version=function_version)
        self.environment: LocalEnvironment | None = None
        runtime = str(function_version.config.runtime or "")
        self.unsupported = lambda_env.unsupported_runtime_message(runtime or None)
        self.node: str | None = None
        if node_runtime.is_node(runtime):
            self.node, version = node_runtime.installed()
            self.unsupported = node_runtime.problem(runtime, self.node, version)

    def start(self, env_vars: dict[str, str]) -> None:
        if self.unsupported:
            return  # nothing to run; every invocation answers with the limitation
        config_ = self.function_version.config
        if config_.code is None or not config_.handler or not config_.runtime:
            raise ValueError(f"function {self.function_version.qualified_arn} has no zip code or handler")
        # Unzipped when the version's first environment starts, not when the version is created (see
        # prepare_version); later starts find it on disk.
        if hasattr(config_.code, "prepare_for_execution"):
            config_.code.prepare_for_execution()
        spec = FunctionSpec(
            name=self.function_version.id.function_name,
            handler=config_.handler,
            runtime=str(config_.runtime),
            code_dir=str(config_.code.get_unzipped_code_location()),
            timeout_s=float(config_.timeout),
            memory_mb=int(config_.memory_size),
            version=self.function_version.id.qualifier,
        )
        self.environment = LocalEnvironment(spec, dict(env_vars), self._launch(spec))
        self.environment.start(init_timeout_s=float(config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT))

    def _launch(self, spec: FunctionSpec) -> Launch:
        if self.node is not None:
            return node_launch(spec.handler, spec.runtime, spec.code_dir, self.node, node_runtime.sdk_home())
        return python_launch(spec.handler, sys.executable)

    def stop(self) -> None:
        if self.environment is not None:
            self.environment.stop()

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        """Where the function reaches LocalStack (used for AWS_ENDPOINT_URL and LOCALSTACK_HOSTNAME)."""
        host = config.GATEWAY_LISTEN[0].host
        return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - comparing, not binding

    def get_runtime_endpoint(self) -> str:
        # Only LocalStack's container init calls back here; local environments answer in-process.
        return (
            f"http://{self.get_endpoint_from_executor()}:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"
        )

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        if self.unsupported or self.environment is None:
            message = self.unsupported or "execution environment is not running"
            logs = (
                lambda_env.start_line(request_id, self.function_version.id.qualifier)
                + f"{message}\n"
                + lambda_env.end_lines(
                    request_id,
                    duration_ms=0.0,
                    memory_mb=int(self.function_version.config.memory_size),
                    max_memory_mb=0,
                    status="error",
                    error_type="Runtime.Unsupported",
                )
            )
            return InvocationResult(request_id, lambda_env.unsupported_runtime_error(request_id, message), True, logs)
        result = self.environment.invoke(
            request_id=request_id,
            payload=to_bytes(payload.get("payload") or ""),
            invoked_function_arn=payload.get("invoked-function-arn", ""),
            trace_id=payload.get("trace-id", ""),
        )
        return InvocationResult(request_id, result.payload, result.is_error, result.logs)

    def get_logs(self) -> str:
        return self.environment.output() if self.environment is not None else ""

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        # Nothing to download or build (the Docker executor's preparation needs the network), and the code is
        # unzipped on the first start (`start`): unzipping here, as LocalStack's executors do, fetched the archive
        # back from LocalStack's internal bucket while the function was being created (130-320 ms each with make
        # up's four at once, which the deploy waits for), for functions that may never run.
        runtime = str(function_version.config.runtime or "")
        if message := lambda_env.unsupported_runtime_message(runtime or None):
            LOG.warning("Function %s: %s", function_version.qualified_arn, message)
        elif node_runtime.is_node(runtime):
            node, version = node_runtime.installed()
            if problem := node_runtime.problem(runtime, node, version):
                LOG.warning("Function %s: %s", function_version.qualified_arn, problem)
            elif version is not None:
                note = node_runtime.version_note(runtime, version, node_runtime.sdk_home())
                LOG.info("Function %s: %s", function_version.qualified_arn, note)

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        return True
