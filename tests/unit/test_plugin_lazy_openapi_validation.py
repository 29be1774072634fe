"""LocalStack's gateway without openapi_core while its OpenAPI checks are off (lazy_openapi_validation.py).
Import effects are checked in fresh interpreters: the test process itself may have imported anything already."""

from __future__ import annotations

import json
import subprocess
import sys


def fresh(code: str, env: dict[str, str] | None = None) -> dict:
    """Run `code` in a new interpreter; it ends by printing a JSON object."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                          env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


# LocalStack's handler chain on one request to its own health endpoint with an action its spec does not allow:
# with request validation on, LocalStack answers 400 and stops the chain; with it off, the request goes on.
CHECK = """
def check():
    from localstack.aws.api import RequestContext
    from localstack.aws.chain import HandlerChain
    from localstack.http import Request, Response
    request = Request("POST", "/_localstack/health", body=json.dumps({"action": "dance"}),
                      headers={"Content-Type": "application/json", "Host": "localhost:4566"})
    chain, response = HandlerChain(), Response()
    handlers.validate_request_schema(chain, RequestContext(request), response)
    return [response.status_code, chain.stopped]
"""


def test_localstack_alone_imports_openapi_core_with_its_gateway():
    seen = fresh("import json, sys\nimport localstack.aws.handlers\n"
                 "print(json.dumps({'openapi_core': 'openapi_core' in sys.modules}))")
    assert seen == {"openapi_core": True}


def test_the_gateway_loads_without_openapi_core_and_validates_as_localstack_once_asked():
    seen = fresh(f"""
import json, sys
from sandbox_localstack.lazy_openapi_validation import defer_openapi_validation
deferred = defer_openapi_validation()
from localstack import config
from localstack.aws import handlers
{CHECK}
before = {{'openapi_core': 'openapi_core' in sys.modules, 'off': check()}}
config.OPENAPI_VALIDATE_REQUEST = True
on = check()
print(json.dumps({{**before, 'deferred': deferred, 'on': on, 'loaded': 'openapi_core' in sys.modules,
                   'stand_in': hasattr(sys.modules['localstack.aws.handlers.validation'], '__sandbox_stand_in__')}}))
""")
    assert seen == {"deferred": True, "openapi_core": False, "off": [200, False], "on": [400, True],
                    "loaded": True, "stand_in": False}


def test_localstack_answers_the_same_without_the_stand_ins():
    seen = fresh(f"""
import json
from localstack import config
from localstack.aws import handlers
{CHECK}
off = check()
config.OPENAPI_VALIDATE_REQUEST = True
print(json.dumps({{'off': off, 'on': check()}}))
""")
    assert seen == {"off": [200, False], "on": [400, True]}


def test_nothing_to_defer_when_validation_is_on_at_start_or_the_module_is_loaded():
    import os

    on = fresh("""
import json
from sandbox_localstack.lazy_openapi_validation import defer_openapi_validation
print(json.dumps({'deferred': defer_openapi_validation()}))
""", env={**os.environ, "OPENAPI_VALIDATE_RESPONSE": "1"})
    loaded = fresh("""
import json
import localstack.aws.handlers.validation
from sandbox_localstack.lazy_openapi_validation import defer_openapi_validation
print(json.dumps({'deferred': defer_openapi_validation()}))
""")
    assert on == loaded == {"deferred": False}
