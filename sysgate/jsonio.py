"""JSON for sysgate's own small files (the handler index, the /proc spool,
the vDSO build's metadata) without the json package, whose import compiles
its regular expressions and brings re in: about 2 ms of every start.

Reading goes through _json's scanner, the C half of the json package (the
same parser, and as strict: no NaN or Infinity); writing needs only what
these files hold: strings, numbers, true/false/null, lists and objects.
"""
try:
    from _json import encode_basestring_ascii as _quote, make_scanner as _make_scanner
except ImportError:         # a Python without the accelerator: the package itself
    _make_scanner = None

_SPACE = " \t\n\r"


def _refuse(name):
    raise ValueError(f"not JSON: {name}")


class _Context:
    """What _json's scanner reads from a json.JSONDecoder."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_refuse)


_scan = _make_scanner(_Context()) if _make_scanner else None


def loads(text):
    """The value text (str or UTF-8 bytes) holds; ValueError if it is not
    one JSON value (RecursionError, for nesting too deep, included)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")      # UnicodeDecodeError is a ValueError
    if _scan is None:
        import json
        return json.loads(text, parse_constant=_refuse)
    text = text.strip(_SPACE)
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    except RecursionError:
        raise ValueError("JSON nested too deep") from None
    if end != len(text):
        raise ValueError("extra data after JSON")
    return value


def dumps(value):
    """value as JSON text (tuples as lists); TypeError for anything else."""
    if isinstance(value, str):
        return _quote(value) if _scan is not None else __import__("json").dumps(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not JSON: {value}")
        return float.__repr__(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(dumps, value)) + "]"
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"a JSON object's key is a string, not {type(k).__name__}")
            parts.append(dumps(k) + ": " + dumps(v))
        return "{" + ", ".join(parts) + "}"
    raise TypeError(f"{type(value).__name__} is not JSON")
