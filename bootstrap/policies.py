"""IAM trust and permission policies, as pure functions of resource ARNs.

LocalStack does not enforce IAM, so these are checked by unit tests instead: every statement names the exact
resources it needs, and no role gets an action its component does not call.
"""

from __future__ import annotations

VERSION = "2012-10-17"
POLICY_NAME = "least-privilege"  # each role has one inline policy


def trust(service: str) -> dict:
    """Who may assume a role: one AWS service principal."""
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": sorted(resources)}


def _policy(*statements: dict) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


def _logs(log_group_arn: str) -> list[dict]:
    """A function writes to its own log group only (the pipeline creates the group, with a retention)."""
    return [_statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"])]


def generate_task_policy(log_group_arn: str) -> dict:
    return _policy(*_logs(log_group_arn))


def process_request_policy(log_group_arn: str) -> dict:
    return _policy(*_logs(log_group_arn))


def send_verification_policy(log_group_arn: str, queue_arn: str, topic_arn: str, bucket_arn: str) -> dict:
    return _policy(
        *_logs(log_group_arn),
        # What the SQS event source mapping does on the function's behalf (AWS Lambda's documented three).
        _statement("ConsumeVerificationQueue",
                   ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [queue_arn]),
        # The function's own ChangeMessageVisibilityBatch on the messages it did not start (IAM authorises a batch
        # call by its single action; there is no sqs:ChangeMessageVisibilityBatch).
        _statement("ReleaseUnstartedMessages", ["sqs:ChangeMessageVisibility"], [queue_arn]),
        _statement("PublishApprovalEmail", ["sns:Publish"], [topic_arn]),
        _statement(
            "RecordTaskOnce", ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], [f"{bucket_arn}/tasks/*"]
        ),
    )


def decide_policy(log_group_arn: str, bucket_arn: str, state_machine_arn: str, executions_arn: str) -> dict:
    # The express and map-run forms of the same names: IAM lists them among these actions' resource types (the
    # machine is STANDARD, so they match nothing more).
    express_arn = executions_arn.replace(":execution:", ":express:", 1) + ":*"
    map_runs_arn = state_machine_arn.replace(":stateMachine:", ":mapRun:", 1) + "/*"
    return _policy(
        *_logs(log_group_arn),
        _statement("ReadTasks", ["s3:GetObject"], [f"{bucket_arn}/tasks/*"]),
        _statement(
            "RecordDecisionOnce", ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], [f"{bucket_arn}/decisions/*"]
        ),
        # Without s3:ListBucket a missing object reads as 403 instead of 404; the handler tells them apart.
        _statement("TellMissingFromForbidden", ["s3:ListBucket"], [bucket_arn]),
        # IAM has no resource type for these two: the task token itself is the authority, so "*" is the only form
        # AWS accepts (a state machine ARN here would deny every decision on AWS).
        _statement("SendDecision", ["states:SendTaskSuccess", "states:SendTaskFailure"], ["*"]),
        _statement("ReadExecutionState", ["states:DescribeExecution", "states:GetExecutionHistory"],
                   [executions_arn, express_arn]),
        # A link opened before its email was sent (from the Workflows page) is found among running executions.
        _statement("FindWaitingExecution", ["states:ListExecutions"], [state_machine_arn, map_runs_arn]),
    )


def state_machine_policy(function_arns: list[str], queue_arn: str) -> dict:
    return _policy(
        _statement("InvokeTaskFunctions", ["lambda:InvokeFunction"], list(function_arns)),
        _statement("SendVerificationRequest", ["sqs:SendMessage"], [queue_arn]),
    )


def events_policy(state_machine_arn: str) -> dict:
    return _policy(_statement("StartApprovalWorkflow", ["states:StartExecution"], [state_machine_arn]))


def apigateway_policy(decide_function_arn: str) -> dict:
    return _policy(_statement("InvokeDecisionFunction", ["lambda:InvokeFunction"], [decide_function_arn]))
