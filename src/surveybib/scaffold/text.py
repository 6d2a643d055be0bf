"""The scaffold's templates, and quoting that keeps any text data in YAML and TOML.

The templates hold GitHub workflow files, whose own `${{ ... }}` expressions must pass
through untouched, so jinja2 is set to other delimiters here: `<< value >>` and
`<% block %>`.
"""

from __future__ import annotations

import json
import shlex
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

# YAML 1.2's printable characters (its spec, 5.1) that are not line breaks (NEL, LS, PS
# would be folded into spaces) or a byte order mark; any other one is escaped.
_YAML_PRINTABLE = ((0x20, 0x7E), (0xA0, 0x2027), (0x202A, 0xD7FF), (0xE000, 0xFEFE),
                   (0xFF00, 0xFFFD), (0x10000, 0x10FFFF))
_YAML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def yaml_str(text: str) -> str:
    """TEXT as a YAML double-quoted scalar: never a number, boolean, null, alias, tag,
    comment or key, whatever characters it holds."""
    out = []
    for char in text:
        code = ord(char)
        if char in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[char])
        elif any(low <= code <= high for low, high in _YAML_PRINTABLE):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def toml_str(text: str) -> str:
    """TEXT as a TOML basic string (control characters and DEL escaped)."""
    out = []
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif code < 0x20 or code == 0x7F:
            out.append(json.dumps(char)[1:-1] if char in "\b\t\n\f\r" else f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment of the packaged scaffold templates."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("surveybib.scaffold", "templates"),
        variable_start_string="<<", variable_end_string=">>",
        block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>",
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False,
    )
    env.filters["yaml"] = yaml_str
    env.filters["toml"] = toml_str
    env.filters["shell"] = shlex.quote
    env.filters["oneline"] = lambda text: " ".join(str(text).split())
    return env


def render(name: str, **values: Any) -> str:
    """One scaffold template, rendered."""
    return environment().get_template(name).render(**values)
