"""LocalStack sets up an account in moto's IAM on the first call of any moto-backed service in that account.

moto's `BaseResponse` marks the account "visited" on every call, which creates the account's IAM backend, and
that loads AWS's 1,443 managed policies (parsing moto's 3.8 MB policy document, one object per policy). In a
`make up` that happens on the deploy's first calls: `GetCallerIdentity`, then seven `GetRole` calls that all wait
for it, holding up everything that needs a role (the functions, the state machine, the rules), ~1 s of the
deploy's critical path.

`warm_default_account` creates that backend for LocalStack's default account (000000000000, the account of
the `test` credentials the sandbox and the AWS SDKs' LocalStack defaults use) while LocalStack starts, after its
services loaded: the same object the first call would have created, just earlier. Only once LocalStack's IAM
service runs, since loading it is what applies LocalStack's own patches to moto's IAM (its extra managed policies
among them); otherwise, and for other accounts, the first call sets the account up, as before.
"""

from __future__ import annotations

from typing import Any


def warm_default_account(account_id: str | None = None, partition: str = "aws") -> Any:
    """The account's IAM backend, created now if no call created it yet."""
    from localstack.constants import DEFAULT_AWS_ACCOUNT_ID
    from moto.iam.models import iam_backends

    return iam_backends[account_id or DEFAULT_AWS_ACCOUNT_ID][partition]


def install() -> bool:
    from localstack.services.plugins import SERVICE_PLUGINS

    if not SERVICE_PLUGINS.is_running("iam"):
        return False
    warm_default_account()
    return True
