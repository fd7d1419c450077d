"""Live parameters a probe declares: the dashboard's parameters panel, `:set`,
completion and help show whatever is declared here, with its range."""

import math
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Knob:
    key: str
    get: Callable[[], Any]
    set: Callable[[Any], None]
    kind: str = "real"  # real, integer, flag, choice, text
    low: float | None = None
    high: float | None = None
    options: list[str] = field(default_factory=list)
    documentation: str = ""
    live: bool = True

    def descriptor(self) -> dict:
        """The telemetry schema's parameter descriptor."""
        if self.kind in ("real", "integer"):
            low = -math.inf if self.low is None else self.low
            high = math.inf if self.high is None else self.high
            kind = {self.kind: {"_0": [low, high]}}
        elif self.kind == "choice":
            kind = {"choice": {"_0": list(self.options)}}
        else:
            kind = {self.kind: {}}
        return {"key": self.key, "kind": kind, "isLive": self.live, "documentation": self.documentation}

    def value(self):
        value = self.get()
        if hasattr(value, "item"):
            value = value.item()
        return value

    def coerce(self, value):
        """The value a `set` asked for, checked against the declaration; a
        ValueError says what is allowed."""
        if not self.live:
            raise ValueError(f"{self.key} is fixed for the run")
        if self.kind in ("real", "integer"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{self.key} takes a number, not {value!r}")
            if self.kind == "integer":
                if float(value) != int(value):
                    raise ValueError(f"{self.key} takes a whole number, not {value}")
                value = int(value)
            else:
                value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{self.key} takes a finite number")
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ValueError(f"{self.key} = {value} is outside {self.low}…{self.high}")
            return value
        if self.kind == "flag":
            if not isinstance(value, bool):
                raise ValueError(f"{self.key} takes true or false")
            return value
        if not isinstance(value, str):
            raise ValueError(f"{self.key} takes text")
        if self.kind == "choice" and value not in self.options:
            raise ValueError(f"{self.key} takes one of {', '.join(self.options)}")
        return value


def optimizer_knob(key: str, optimizer, entry: str, low: float, high: float, documentation: str) -> Knob:
    """A knob on one entry of every parameter group of an optimiser (lr,
    weight_decay): a scheduler that rewrites the lr each epoch overrides a
    set lr at the next epoch, as it would in the script itself."""

    def get():
        return optimizer.param_groups[0][entry]

    def put(value):
        for group in optimizer.param_groups:
            group[entry] = value

    return Knob(key, get, put, "real", low, high, documentation=documentation)
