"""Structural comparison of a real API example with a stand-in answer (for contract tests).

Values may differ; what must agree is what a client reads: the keys of every object and the JSON
type at every path. Dicts keyed by ids or languages (pages, entities, statements, qualifiers,
labels ...) are compared by entry shape, not by key, and a list element of the example must
match the element at the same index or, failing that, some element of the answer.
"""

from __future__ import annotations

from typing import Any

MAP_KEYS = {"pages", "entities", "statements", "claims", "qualifiers", "labels", "descriptions",
            "aliases", "sitelinks", "responsiveUrls", "snaks"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"


def differences(sample: Any, actual: Any, path: str = "$", key: str = "") -> list[str]:
    """Every place where ``actual`` lacks a key of ``sample`` or has another type there."""
    if sample is None:
        return []
    ks, ka = _kind(sample), _kind(actual)
    if ks != ka:
        # MediaInfo serialises an empty statement list as [] and a full one as {}.
        if key == "statements" and sample in ([], {}) and ka in ("list", "object"):
            return []
        return [f"{path}: expected {ks}, got {ka} ({str(actual)[:60]})"]
    if ks == "object":
        return _object(sample, actual, path, key)
    if ks == "list":
        return _list(sample, actual, path)
    return []


def _object(sample: dict[str, Any], actual: dict[str, Any], path: str, key: str) -> list[str]:
    if key in MAP_KEYS:
        return _map(sample, actual, path)
    errors: list[str] = []
    for k, v in sample.items():
        if k not in actual:
            errors.append(f"{path}.{k}: missing")
            continue
        if k == "datavalue" and isinstance(v, dict) and isinstance(actual[k], dict) \
                and v.get("type") != actual[k].get("type"):
            continue  # a value of another datatype has another shape, by design
        errors += differences(v, actual[k], f"{path}.{k}", k)
    return errors


def _map(sample: dict[str, Any], actual: dict[str, Any], path: str) -> list[str]:
    if sample and not actual:
        return [f"{path}: expected entries like {list(sample)[:3]}, got none"]
    errors: list[str] = []
    for k, v in sample.items():
        if k in actual:
            errors += differences(v, actual[k], f"{path}[{k}]", k)
        elif not any(not differences(v, a, f"{path}[*]", k) for a in actual.values()):
            best = min((differences(v, a, f"{path}[~{k}]", k) for a in actual.values()), key=len)
            errors += best
    return errors


def _list(sample: list[Any], actual: list[Any], path: str) -> list[str]:
    if sample and not actual:
        return [f"{path}: expected {len(sample)} element(s), got an empty list"]
    errors: list[str] = []
    for i, v in enumerate(sample):
        if i < len(actual) and not differences(v, actual[i], f"{path}[{i}]"):
            continue
        if any(not differences(v, a, f"{path}[*]") for a in actual):
            continue
        errors += min((differences(v, a, f"{path}[~{i}]") for a in actual), key=len)
    return errors
