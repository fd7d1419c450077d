"""The attach wire protocol's framing (docs/attach.md): one JSON object per
line, keys sorted, non-finite numbers as the strings "nan", "inf", "-inf"
(the telemetry schema's convention: a diverged loss must read as such)."""

import json
import math

SCHEMA = 2
"""The telemetry schema this probe speaks (docs/telemetry.md)."""

MAX_LINE_BYTES = 1 << 20
"""The longest line the probe accepts from a dashboard: commands are tiny."""


def _plain(value):
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def encode(message: dict) -> bytes:
    """One message as a line of bytes, newline included."""
    return (json.dumps(_plain(message), sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode()


class ProtocolError(ValueError):
    """A line a peer sent that breaks the protocol (said in the log, then dropped)."""


def decode(line: bytes) -> dict:
    """A line from a dashboard; raises ProtocolError with the reason."""
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"a line of {len(line)} bytes (the limit is {MAX_LINE_BYTES})")
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"not JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("not a JSON object with a string 'type'")
    return message
