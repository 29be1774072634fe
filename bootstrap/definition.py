"""The WaitForCallback state machine, as a pure function of the resources it uses."""

from __future__ import annotations

GENERATE = "Generate task"
VERIFY = "Request user verification"
PROCESS = "Return to main processing"
DONE = "Done"
REJECTED = "Rejected"
TIMED_OUT = "TimedOut"

REJECTION_ERROR = "ApprovalRejected"
TIMEOUT_ERROR = "ApprovalTimedOut"
# The approval timeout is the task's own timeout (TimeoutSecondsPath), not a heartbeat: AWS fails it with
# States.Timeout, and so does the sandbox (its plugin matches States.HeartbeatTimeout to heartbeats only).
TIMEOUT_ERRORS = ["States.Timeout"]

_LAMBDA_RETRY = {
    "ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException"],
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
}


def state_machine_definition(generate_task_arn: str, process_request_arn: str, queue_url: str) -> dict:
    return {
        "Comment": "Human approval with the wait-for-callback pattern: the execution pauses until the approver "
                   "clicks Approve or Reject in the email, or the approval timeout passes.",
        "StartAt": GENERATE,
        "States": {
            GENERATE: {
                "Type": "Task",
                "Comment": "Request id, timestamp, the request and its approval timeout.",
                "Resource": generate_task_arn,
                "Retry": [_LAMBDA_RETRY],
                "Next": VERIFY,
            },
            VERIFY: {
                "Type": "Task",
                "Comment": "Queue the verification email with the task token and pause until a decision arrives.",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {
                        "taskToken.$": "$$.Task.Token",
                        "executionArn.$": "$$.Execution.Id",
                        "executionName.$": "$$.Execution.Name",
                        "requestId.$": "$.requestId",
                        "createdAt.$": "$.createdAt",
                        "request.$": "$.request",
                        "approvalTimeoutSeconds.$": "$.approvalTimeoutSeconds",
                    },
                },
                # Per request, so a test (or an urgent request) can use a short timeout without a redeploy.
                "TimeoutSecondsPath": "$.approvalTimeoutSeconds",
                "ResultPath": "$.approval",
                "Catch": [
                    {"ErrorEquals": [REJECTION_ERROR], "ResultPath": "$.error", "Next": REJECTED},
                    {"ErrorEquals": TIMEOUT_ERRORS, "ResultPath": "$.error", "Next": TIMED_OUT},
                ],
                "Next": PROCESS,
            },
            PROCESS: {
                "Type": "Task",
                "Comment": "The main work, with the approved request.",
                "Resource": process_request_arn,
                "Retry": [_LAMBDA_RETRY],
                "ResultPath": "$.processing",
                "Next": DONE,
            },
            DONE: {"Type": "Succeed"},
            REJECTED: {"Type": "Fail", "Error": REJECTION_ERROR, "Cause": "The approver rejected the request."},
            TIMED_OUT: {
                "Type": "Fail",
                "Error": TIMEOUT_ERROR,
                "Cause": "No decision arrived within the approval timeout.",
            },
        },
    }
