"""Werkzeug compiles two URL builders per route the moment a route is added; LocalStack almost never builds a URL.

`Rule.compile` (werkzeug 3.1) turns each rule into a matching pattern and into two Python functions that *build*
URLs for it (`url_for`), generating an AST and calling `compile()` on it twice: ~90 % of a rule's compile time.
LocalStack adds rules in bulk as it starts and on its first call to each REST service: rolo's `Router.add` clones
the whole map and compiles every rule again for each route added, and LocalStack's REST parser builds a map of
every operation of a service (API Gateway: 122 rules, ~0.2 s). A profile of `make up` put 15–19 % of LocalStack's
CPU there. Matching never uses the builders, so `lazy_url_builders` compiles a rule's builder the first time that
builder is called (then keeps it on the rule, as werkzeug would have): building a URL answers as before, adding
or matching a route no longer pays for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox_localstack.patches import wrap_once

# Rule.compile stores the builders under these attributes (append_unknown False / True).
_ATTRIBUTE = {False: "_build", True: "_build_unknown"}


def lazy_url_builders() -> None:
    from werkzeug.routing.rules import Rule

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def _compile_builder(self: Any, append_unknown: bool = True) -> Callable[..., Any]:
            def build_on_first_use(rule: Any, *args: Any, **kwargs: Any) -> Any:
                # Compiled from the rule as it is now, which is as compile() left it (it sets the parts first).
                builder = original(rule, append_unknown).__get__(rule, None)
                setattr(rule, _ATTRIBUTE[append_unknown], builder)
                return builder(*args, **kwargs)

            return build_on_first_use

        return _compile_builder

    wrap_once(Rule, "_compile_builder", make)


def install() -> None:
    lazy_url_builders()
