"""Logs are one JSON object per line."""

import json
import logging

from hello.logs import JsonFormatter


def test_a_record_becomes_one_json_line() -> None:
    record = logging.LogRecord("svc", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["message"] == "hello world"
