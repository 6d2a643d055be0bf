"""The jinja2 environment a survey's own templates run in.

A template in templates/ is a file a pull request can change, and CI renders it (`surveybib
check` in the pull-request workflow, `make readme`). So a survey with templates of its own
renders in jinja2's sandbox, which refuses attributes that start with an underscore and
unsafe callables (no `cycler.__init__.__globals__.os`), with bounds on what one render may
make the run do:

- `range` yields at most MAX_ITERATIONS items in all, across every loop of the render
  (jinja2 caps one range at 100,000; nested loops multiply);
- `*`, `**`, `+` and `%` refuse a result of more than MAX_SIZE characters or items, and
  a call or a filter refuses an integer argument past MAX_ARGUMENT (`center`, `indent`,
  `truncate`, `batch`: widths and counts), as `%` a field width past it.

Past a bound the render stops with a SecurityError, which `build` reports as a template
error naming the file and line. The packaged templates are surveybib's own code, and render
outside the sandbox (faster: a large README reads thousands of attributes).
"""

from __future__ import annotations

import functools
import re
from typing import Any

MAX_ITERATIONS = 5_000_000  # range items in one render
MAX_SIZE = 10_000_000  # characters or items of one value a template computes
MAX_ARGUMENT = 100_000  # an integer argument to a call or a filter, a `%` field width
_WIDTHS = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d*))?")


@functools.cache
def sandbox_class() -> type[Any]:
    """The environment class for a survey's own templates (jinja2 imported on first use)."""
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment, safe_range

    def checked(args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
        for value in (*args, *(kwargs or {}).values()):
            if isinstance(value, int) and not isinstance(value, bool) \
                    and abs(value) > MAX_ARGUMENT:
                raise SecurityError(f"a number above {MAX_ARGUMENT:,} as an argument")

    def sized(value: Any) -> Any:
        if isinstance(value, str | bytes | list | tuple) and len(value) > MAX_SIZE:
            raise SecurityError(f"a value of more than {MAX_SIZE:,} characters or items")
        return value

    def bounded(function: Any) -> Any:
        """A filter whose widths and counts are checked, and whose result is sized."""
        skip = 2 if hasattr(function, "jinja_pass_arg") else 1  # (context,) value

        @functools.wraps(function)  # keeps jinja_pass_arg
        def run(*args: Any, **kwargs: Any) -> Any:
            checked(args[skip:], kwargs)
            return sized(function(*args, **kwargs))

        return run

    class TemplateSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.iterations_left = MAX_ITERATIONS
            self.globals["range"] = self.bounded_range
            self.filters = {name: bounded(f) for name, f in self.filters.items()}

        def bounded_range(self, *args: int) -> range:
            checked(args)
            items = safe_range(*args)
            self.iterations_left -= len(items)
            if self.iterations_left < 0:
                raise SecurityError(f"loops of more than {MAX_ITERATIONS:,} steps in all")
            return items

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "**":
                checked((right,))
                numbers = all(isinstance(x, int | float) for x in (left, right))
                if numbers and abs(left) > 1 and right > 64:  # huge, or OverflowError
                    raise SecurityError("a power above 2**64")
            if operator == "*":
                count, items = (right, left) if isinstance(right, int) else (left, right)
                if isinstance(count, int) and hasattr(items, "__len__") \
                        and len(items) * count > MAX_SIZE:
                    raise SecurityError(f"a value of more than {MAX_SIZE:,} characters or "
                                        "items")
            if operator == "%" and isinstance(left, str):
                checked(right if isinstance(right, tuple) else (right,))
                widths = (int(w) for pair in _WIDTHS.findall(left) for w in pair if w)
                if any(w > MAX_ARGUMENT for w in widths):
                    raise SecurityError(f"a field width above {MAX_ARGUMENT:,}")
            return sized(super().call_binop(context, operator, left, right))

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            checked(args, kwargs)
            return sized(super().call(__context, __obj, *args, **kwargs))

    return TemplateSandbox
