"""LocalStack's gateway imports `openapi_core` for two handlers that are switched off unless asked for.

`localstack.aws.handlers` imports `localstack.aws.handlers.validation`, which imports `openapi_core` at the top
(and with it openapi-spec-validator, jsonschema-path, pyyaml, referencing...): ~0.2 s of a ~4 s start, the
largest single import of the gateway. Its two handlers check requests to and answers from LocalStack's own
`/_localstack` and `/_aws` endpoints against its OpenAPI specs, and only when OPENAPI_VALIDATE_REQUEST or
OPENAPI_VALIDATE_RESPONSE is set (settings for LocalStack's own tests); otherwise each returns at once.

`defer_openapi_validation` (as LocalStack's runtime is created, before its gateway is imported) puts stand-ins for
that module's two handlers where the module would be. A stand-in returns at once while its setting is off, as
LocalStack's handler does; once the setting is on, it loads LocalStack's module (which then replaces the stand-in
module) and hands every call to LocalStack's handler. Nothing is done when a setting is on at start, or when the
module was imported already.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

MODULE = "localstack.aws.handlers.validation"
_lock = threading.Lock()


def _localstack_module() -> types.ModuleType:
    """LocalStack's own validation module, loaded from its file (the stand-in holds its name until then)."""
    with _lock:
        module = sys.modules.get(MODULE)
        if module is not None and not getattr(module, "__sandbox_stand_in__", False):
            return module
        import localstack.aws.handlers as package

        spec = importlib.machinery.PathFinder.find_spec(MODULE, list(package.__path__))
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot find {MODULE}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[MODULE] = module
        package.validation = module  # type: ignore[attr-defined]
        return module


class _StandIn:
    """One of LocalStack's validation handlers, made (with the module) on the first call its setting is on for."""

    setting = ""
    handler_name = ""

    def __init__(self) -> None:
        self._handler: Any = None

    def __call__(self, chain: Any, context: Any, response: Any) -> None:
        from localstack import config

        if not getattr(config, self.setting):
            return
        if self._handler is None:
            self._handler = getattr(_localstack_module(), self.handler_name)()
        self._handler(chain, context, response)


class OpenAPIRequestValidator(_StandIn):
    setting, handler_name = "OPENAPI_VALIDATE_REQUEST", "OpenAPIRequestValidator"


class OpenAPIResponseValidator(_StandIn):
    setting, handler_name = "OPENAPI_VALIDATE_RESPONSE", "OpenAPIResponseValidator"


def defer_openapi_validation() -> bool:
    """Register the stand-in module; False when there is nothing to defer."""
    from localstack import config

    if MODULE in sys.modules or config.OPENAPI_VALIDATE_REQUEST or config.OPENAPI_VALIDATE_RESPONSE:
        return False
    stand_in = types.ModuleType(MODULE, "Stand-ins for LocalStack's OpenAPI validation handlers (sandbox plugin).")
    stand_in.__sandbox_stand_in__ = True  # type: ignore[attr-defined]
    stand_in.OpenAPIRequestValidator = OpenAPIRequestValidator  # type: ignore[attr-defined]
    stand_in.OpenAPIResponseValidator = OpenAPIResponseValidator  # type: ignore[attr-defined]
    sys.modules[MODULE] = stand_in
    return True


def install() -> None:
    defer_openapi_validation()
