"""EventBridge rules that start Step Functions executions with a target input, as AWS runs them.

LocalStack 4.14 names the execution after the event's `id`, read from what the target sends. A target with
`InputPath` (CDK's `RuleTargetInput.fromEventPath('$.detail')`), `Input` or `InputTransformer` sends something else
than the event, which has no `id` (or is a string), so the delivery fails ("Failed to deliver to target …: 'id'")
and no execution starts. Here the execution takes the id of the event that matched the rule, whatever the target
sends, and a transformed (string) input is passed as it is.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sandbox_localstack.patches import wrap_once

_matched = threading.local()  # the id of the event being delivered, on the thread that delivers it


def execution_name(event_id: object) -> str:
    return event_id if isinstance(event_id, str) and event_id else str(uuid.uuid4())


def install() -> None:
    from localstack.services.events.target import StatesTargetSender
    from localstack.services.events.utils import to_json_str

    def remember_the_event(original):
        def process_event(self: Any, event: Any, trace_header: Any) -> Any:
            _matched.event_id = event.get("id") if isinstance(event, dict) else None
            try:
                return original(self, event, trace_header)
            finally:
                _matched.event_id = None

        return process_event

    def start_with_any_input(_original):
        def send_event(self: Any, event: Any, trace_header: Any) -> None:
            self.service = "stepfunctions"
            self.client.start_execution(
                stateMachineArn=self.target["Arn"],
                name=execution_name(getattr(_matched, "event_id", None)),
                input=event if isinstance(event, str) else to_json_str(event),
            )

        return send_event

    wrap_once(StatesTargetSender, "process_event", remember_the_event)
    wrap_once(StatesTargetSender, "send_event", start_with_any_input)
