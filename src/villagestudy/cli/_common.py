"""Helpers shared by the command groups: argument types and the study loader with ``--set``."""
from __future__ import annotations

import argparse
import json

from ..errors import UsageError


def _year(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a year such as 2023") from None


def _json_arg(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object such as '{\"land\": 2}'")
    return value


def _study_with_overrides(args):
    from ..io import load_study

    overrides = {}
    for item in getattr(args, "set", None) or []:
        key, _, value = item.partition("=")
        if not _:
            raise UsageError(f"--set needs KEY=VALUE, got '{item}'")
        overrides[key.strip()] = _parse_value(value.strip(), key.strip())
    try:
        return load_study(args.study, **overrides)
    except KeyError as e:
        raise UsageError(str(e).strip('"')) from None


def _parse_value(text: str, key: str = ""):
    """``--set`` text in the type of the setting (lists split on commas: ``farmland_uses=arable,garden``)."""
    from ..settings import parse_setting_text

    return parse_setting_text(key, text)
