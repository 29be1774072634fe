"""The default account's IAM backend made while LocalStack starts (account_warm_up.py): the object a first call
would have made, AWS's managed policies in it."""

from __future__ import annotations

from moto.iam.models import iam_backends
from sandbox_localstack import account_warm_up

ACCOUNT = "123456789012"  # not the default: other tests may have set that one up already
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def test_an_account_is_set_up_on_first_use_and_warming_makes_the_same_backend_earlier(monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # LocalStack turns that on (aws/patches.py)
    assert ACCOUNT not in iam_backends  # nothing touched it yet
    warmed = account_warm_up.warm_default_account(ACCOUNT)
    assert ACCOUNT in iam_backends
    assert iam_backends[ACCOUNT]["aws"] is warmed  # what the first call finds
    assert BASIC in warmed.managed_policies
    assert account_warm_up.warm_default_account(ACCOUNT) is warmed  # a second warm-up changes nothing


def test_nothing_is_warmed_while_localstack_has_not_loaded_iam(monkeypatch):
    from localstack.services.plugins import SERVICE_PLUGINS

    monkeypatch.setattr(SERVICE_PLUGINS, "is_running", lambda name: False)
    warmed = []
    monkeypatch.setattr(account_warm_up, "warm_default_account", lambda *a: warmed.append(a))
    assert account_warm_up.install() is False and warmed == []
