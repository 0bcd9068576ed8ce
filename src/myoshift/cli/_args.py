"""Argument parsing shared by the commands: integer lists, subjects, ``--set`` overrides.

Light on imports (the CLI starts before torch or pandas are imported).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from myoshift.errors import ConfigError


def int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip() != ""]
    except ValueError:
        raise ConfigError(f"--{what} takes comma-separated integers, got {text!r}") from None
    if not values:
        raise ConfigError(f"--{what} is empty")
    return values


def subject_list(values: list[str] | None) -> list[Any] | None:
    """``--subjects 1 2,3 eval-Female0`` -> ``[1, 2, 3, "eval-Female0"]`` (None: all)."""
    if not values:
        return None
    out: list[Any] = []
    for text in (s for part in values for s in part.split(",") if s):
        try:
            out.append(int(text))
        except ValueError:
            out.append(text)
    return out


def method_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["tcn.epochs=5", "tcn.device=cuda"]`` -> ``{"tcn": {"epochs": 5, "device": "cuda"}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, eq, raw = item.partition("=")
        method, dot, param = key.partition(".")
        if not (eq and dot and method and param):
            raise ConfigError(f"--set takes METHOD.PARAM=VALUE (e.g. tcn.epochs=5), got {item!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        out.setdefault(method, {})[param] = value
    return out


def overrides_file(path: str | None) -> dict[str, dict[str, Any]]:
    """Per-method overrides from a YAML file: ``{method: {param: value, ...}, ...}``."""
    if path is None:
        return {}
    import yaml

    from myoshift.learn.methods import yaml_problem

    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"--set-file {path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set-file {path}: invalid YAML ({yaml_problem(exc)})") from None
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in doc.items()
    ):
        raise ConfigError(f"--set-file {path}: expected a mapping of method -> {{param: value}}")
    return {method: dict(params) for method, params in doc.items()}
