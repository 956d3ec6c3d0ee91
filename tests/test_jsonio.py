"""sysgate.jsonio, the JSON of sysgate's own files (the handler index, the
/proc spool, the vDSO metadata): what it writes the json package reads
back the same, what it reads is what the json package reads, and what is
not one JSON value is a ValueError, never another exception."""
import json
import random

import pytest

from sysgate import jsonio

VALUES = [None, True, False, 0, -1, 2**70, -(2**63), 1.5, -0.25, "", "a\u00e9\U0001F600\"\\\n\x00\x1f",
          [], {}, [1, [2, {"x": None, "y": [True, "z"]}]], {"k": [1, "v"], "": 0}, ("t", 1)]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_round_trip_agrees_with_json(value):
    text = jsonio.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert jsonio.loads(text) == json.loads(text)
    assert jsonio.loads(" \n" + text + "\t\r\n") == json.loads(text)
    assert jsonio.loads(text.encode()) == json.loads(text)


def test_random_documents_agree_with_json():
    rng = random.Random(5)

    def make(depth):
        kind = rng.randrange(7 if depth < 5 else 5)
        if kind == 0:
            return rng.randrange(-10**20, 10**20)
        if kind == 1:
            return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x10000)]))
                           for _ in range(rng.randrange(8))).encode("utf-16", "surrogatepass") \
                .decode("utf-16", "replace")
        if kind == 2:
            return rng.choice([None, True, False])
        if kind == 3:
            return rng.random() * 10 ** rng.randrange(-5, 5)
        if kind == 4:
            return ""
        if kind == 5:
            return [make(depth + 1) for _ in range(rng.randrange(4))]
        return {str(rng.randrange(100)): make(depth + 1) for _ in range(rng.randrange(4))}
    for _ in range(300):
        value = make(0)
        assert jsonio.loads(jsonio.dumps(value)) == json.loads(json.dumps(value))
        text = json.dumps(value, indent=rng.choice([None, 1]))
        assert jsonio.loads(text) == json.loads(text)


@pytest.mark.parametrize("bad", ["", "  ", "[1,", "NaN", "[Infinity]", "-Infinity", "1 2", "{'a': 1}",
                                 "[" * 100000, "{\"a\":" * 50000, b"\xff\xfe", "tru", "[1,]", "01",
                                 "\"\\x\"", "\"a\nb\"", "{1: 2}", "[1] x"])
def test_not_json_is_a_value_error(bad):
    with pytest.raises(ValueError):
        jsonio.loads(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1: 2}, object(), b"x", {"a": {2: 3}}])
def test_what_json_cannot_hold_is_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        jsonio.dumps(bad)
