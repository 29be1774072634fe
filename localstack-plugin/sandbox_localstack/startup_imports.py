"""Two pieces of LocalStack 4.14's start that cost time and serve the sandbox nothing; both patched in place.

Measured with py-spy (`--gil`) over a start and the first deploy, about a fifth of LocalStack's CPU went to them:

- `lazy_moto_batch`: Step Functions imports `moto.batch.utils` (for one enum, the states of a Batch job), and
  `moto/batch/__init__.py` imports moto's whole Batch model, which imports EC2's, ECS's and IAM's (12 % of that CPU;
  EC2's region table alone reads botocore's endpoint file at class definition). The patch registers `moto.batch` as
  its own package without running that `__init__`; its one name, `batch_backends`, is imported on first use (moto's
  `get_backend("batch")` and `from moto.batch import batch_backends` both still find it).
- `shared_region_lookup`: LocalStack's stores ask `get_valid_regions_for_service` which regions a service has, once
  per service, each time through a new boto3 Session, which reads and parses botocore's endpoint file again (9 %).
  The patch answers from one Session. Same answers: the file is the same.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
from typing import Any

from sandbox_localstack.patches import wrap_once

_LAZY_NAMES = {"batch_backends": "moto.batch.models"}


def lazy_moto_batch() -> bool:
    """Register `moto.batch` without importing its model; False if it was imported already (nothing to gain)."""
    if "moto.batch" in sys.modules:
        return False
    import moto

    spec = importlib.util.find_spec("moto.batch")
    if spec is None or spec.submodule_search_locations is None:
        return False
    package = importlib.util.module_from_spec(spec)  # a package whose __init__ never runs

    def __getattr__(name: str) -> Any:  # noqa: N807 - PEP 562: a module's own attribute lookup
        if name in _LAZY_NAMES:
            value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
            setattr(package, name, value)
            return value
        raise AttributeError(f"module 'moto.batch' has no attribute {name!r}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules["moto.batch"] = package
    moto.batch = package  # type: ignore[attr-defined]
    return True


def shared_region_lookup() -> None:
    from localstack.services import stores
    from localstack.utils.aws import aws_stack

    session: list[Any] = []
    lock = threading.Lock()

    def make(original: Any) -> Any:
        @functools.lru_cache
        def get_valid_regions_for_service(service_name: str) -> list[str]:
            with lock:
                if not session:
                    import boto3

                    session.append(boto3.Session())
                regions = list(session[0].get_available_regions(service_name))
                regions.extend(session[0].get_available_regions("cloudwatch", partition_name="aws-us-gov"))
                regions.extend(session[0].get_available_regions("cloudwatch", partition_name="aws-cn"))
            return regions

        return get_valid_regions_for_service

    # stores imported the function by name; providers loaded later import the patched one from aws_stack
    wrap_once(aws_stack, "get_valid_regions_for_service", make)
    stores.get_valid_regions_for_service = aws_stack.get_valid_regions_for_service


def install() -> None:
    lazy_moto_batch()
    shared_region_lookup()
