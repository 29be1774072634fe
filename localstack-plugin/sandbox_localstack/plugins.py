"""Entry points LocalStack loads (through plux). Kept thin: LocalStack imports every plugin module of a namespace
to list it, so anything heavy is imported only when the plugin is actually used."""

from __future__ import annotations

from localstack.runtime import hooks
from localstack.runtime.server.core import RuntimeServerPlugin
from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin
from localstack.services.plugins import Service, aws_provider


class LocalRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    """LAMBDA_RUNTIME_EXECUTOR=local: every execution environment is a local process on the host."""

    name = "local"

    def load(self, *args, **kwargs):
        from sandbox_localstack import environment_cap
        from sandbox_localstack.executor import LocalRuntimeExecutor

        # Processes on a small host, not containers: queue invocations for a few environments per function.
        environment_cap.install()
        return LocalRuntimeExecutor


class BoundTwistedRuntimeServerPlugin(RuntimeServerPlugin):
    """GATEWAY_SERVER=sandbox-twisted: LocalStack's Twisted server, listening only where GATEWAY_LISTEN says."""

    name = "sandbox-twisted"

    def load(self, *args, **kwargs):
        from sandbox_localstack.bound_server import BoundTwistedRuntimeServer

        return BoundTwistedRuntimeServer()


@aws_provider(api="sesv2", name="sandbox")
def sesv2_provider() -> Service:
    """PROVIDER_OVERRIDE_SESV2=sandbox: SESv2 on top of LocalStack's SES (community LocalStack has no SESv2)."""
    from sandbox_localstack.sesv2 import SesV2Provider

    return Service.for_provider(SesV2Provider())


# The start hooks that patch LocalStack run before it loads services eagerly (EAGER_SERVICE_LOADING, priority 0):
# a loaded service has already bound its provider's methods into its dispatch table, so a later patch of a
# provider method would never be called.
PATCH_PRIORITY = 10


@hooks.on_runtime_create()
def pause_garbage_collection_while_starting() -> None:
    """No cycle collection while LocalStack imports and loads its services (it walks the growing heap again and
    again); when it is ready, what the start made is frozen, and collection resumes after the first deploy."""
    from sandbox_localstack.startup_gc import pause_collection

    pause_collection()


@hooks.on_runtime_create()
def defer_openapi_validation() -> None:
    """The gateway without openapi_core (~0.2 s of the start) while LocalStack's OpenAPI checks are switched off;
    must run before LocalStack imports its gateway's handlers, which the runtime's creation does."""
    from sandbox_localstack.lazy_openapi_validation import install

    install()


@hooks.on_infra_ready()
def resume_garbage_collection_when_ready() -> None:
    from sandbox_localstack.startup_gc import GRACE_SECONDS, resume_collection

    resume_collection(after=GRACE_SECONDS)


# Before every other start hook: they (and LocalStack's eager service loading) import what this makes cheaper.
@hooks.on_infra_start(priority=100)
def start_without_unused_imports() -> None:
    """Step Functions without moto's EC2 model; one region table for every service's store."""
    from sandbox_localstack.startup_imports import install

    install()


@hooks.on_infra_start(priority=100)
def compile_url_builders_on_use() -> None:
    """Werkzeug rules compile their URL builders when first asked to build a URL, not as each route is added."""
    from sandbox_localstack.lazy_url_builders import install

    install()


@hooks.on_infra_start(priority=100)
def parse_model_files_once() -> None:
    """Each botocore model file parsed once (kept pickled under LocalStack's cache folder), not once per loader."""
    from sandbox_localstack.model_cache import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def start_mail_relay() -> None:
    """Relay mail sent through SES (and SNS email subscriptions) to SMTP_HOST."""
    from sandbox_localstack.ses_relay import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def sns_email_as_aws_sends_it() -> None:
    """SNS email subscriptions: AWS's confirmation mail, subject, sender and unsubscribe footer; working links."""
    from sandbox_localstack.sns_email import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def limit_api_gateway_payloads() -> None:
    """Bodies up to API Gateway's 10 MiB reach the function; larger ones get AWS's 413, not a 500."""
    from sandbox_localstack.apigw_limits import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def correct_latency() -> None:
    """Parse each Step Functions JSONPath once; make the SQS poller's first empty-poll sleep respect its maximum."""
    from sandbox_localstack.latency import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def reuse_assumed_role_sessions() -> None:
    """Reuse the role sessions (and so the boto3 clients) LocalStack's services assume for their calls."""
    from sandbox_localstack.assumed_role_sessions import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def reuse_clients_per_settings() -> None:
    """Reuse LocalStack's internal clients whose Config sets retries (Step Functions' tasks), not one per call."""
    from sandbox_localstack.client_configs import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def store_metrics_in_process() -> None:
    """Store LocalStack's own Lambda and SQS metrics in CloudWatch directly, not by a PutMetricData call each."""
    from sandbox_localstack.cloudwatch_metrics import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def parse_definitions_once() -> None:
    """Parse each Step Functions state machine definition once: not twice on creation, nor for every execution."""
    from sandbox_localstack.parsed_definitions import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def poll_sqs_as_aws_does() -> None:
    """SQS event sources long-poll and process several batches at once, as AWS's pollers do."""
    from sandbox_localstack.sqs_event_source import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def guard_hosts() -> None:
    """Refuse requests addressed by names that are not this machine's (DNS rebinding)."""
    from sandbox_localstack.host_guard import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def correct_step_functions() -> None:
    """Step Functions as AWS answers it: Catch on States.HeartbeatTimeout, TaskTimedOut for closed tasks."""
    from sandbox_localstack.sfn_corrections import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def correct_event_targets() -> None:
    """EventBridge rules start Step Functions executions with InputPath, Input or InputTransformer targets too."""
    from sandbox_localstack.event_targets import install

    install()


@hooks.on_infra_start(priority=PATCH_PRIORITY)
def start_restart_journal() -> None:
    """Record running and waiting executions (SANDBOX_JOURNAL_DIR): the next start can say what a restart lost."""
    from sandbox_localstack import journal

    journal.install()


# After LocalStack's eager service loading (priority 0): IAM must be loaded, and patched by LocalStack, first.
@hooks.on_infra_start(priority=-10)
def warm_default_account() -> None:
    """Set up the default account in moto's IAM (AWS's managed policies) while starting, not on the first call."""
    from sandbox_localstack.account_warm_up import install

    install()


@hooks.on_infra_shutdown()
def close_restart_journal() -> None:
    from sandbox_localstack import journal

    journal.shutdown()
