"""ARNs built from names, so roles and policies can name resources before (or without) creating them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    region: str
    account_id: str
    partition: str = "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True, with_account: bool = True) -> str:
        region = self.region if regional else ""
        account = self.account_id if with_account else ""
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def function(self, name: str) -> str:
        return self.arn("lambda", f"function:{name}")

    def log_group(self, function_name: str) -> str:
        return self.arn("logs", f"log-group:/aws/lambda/{function_name}")

    def queue(self, name: str) -> str:
        return self.arn("sqs", name)

    def topic(self, name: str) -> str:
        return self.arn("sns", name)

    def bucket(self, name: str) -> str:
        return self.arn("s3", name, regional=False, with_account=False)

    def state_machine(self, name: str) -> str:
        return self.arn("states", f"stateMachine:{name}")

    def executions(self, state_machine_name: str) -> str:
        return self.arn("states", f"execution:{state_machine_name}:*")

    def role(self, name: str) -> str:
        return self.arn("iam", f"role/{name}", regional=False)

    def rule(self, name: str) -> str:
        return self.arn("events", f"rule/{name}")

    def lambda_integration_uri(self, function_arn: str) -> str:
        service = f"arn:{self.partition}:apigateway:{self.region}:lambda"
        return f"{service}:path/2015-03-31/functions/{function_arn}/invocations"
