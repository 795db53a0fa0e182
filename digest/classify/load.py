"""Loading rules: the bundled digest/rules.toml, overridden by a user's file (rules and weights
replace or extend it) and a threshold; every key and value is checked, and a mistake is one
ConfigError naming the file and the key."""
from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .rules import KINDS, PARTS, PartnerRules, Rule, Rules


def load_rules(path: str | None = None, threshold: float | None = None) -> Rules:
    """The bundled rules, overridden by `path` (rules and weights replace or extend them), with
    `threshold` winning over both. Cached: the same arguments give the same compiled object."""
    return _load_rules(str(path) if path else None, threshold)


@lru_cache(maxsize=16)
def _load_rules(path: str | None, threshold: float | None) -> Rules:
    bundled = resources.files("digest").joinpath("rules.toml").read_text(encoding="utf-8")
    data = _parse_toml(bundled, "digest/rules.toml")
    source = "digest/rules.toml"
    base = _rules_from(data, source)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read rules file: {exc}") from None
        base = _merge(base, _parse_toml(text, path), path)
        source = f"{source} + {path}"
    if threshold is not None:
        base = replace(base, threshold=_unit(threshold, "threshold", source))
    rules = replace(base, source=source)
    rules.compiled  # noqa: B018 - bad patterns are reported now, not at the first message
    return rules


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _unit(value: Any, key: str, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ConfigError(f"{where}: {key} must be a number between 0 and 1")
    return float(value)


def _number(value: Any, key: str, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be a number")
    return float(value)


def _count(value: Any, key: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number, 0 or more")
    return value


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


_TOP_KEYS = {"classify", "rule", "weights", "reply", "partners"}


def _rules_from(data: dict[str, Any], where: str) -> Rules:
    _check_keys(data, _TOP_KEYS, "", where)
    head = data.get("classify", {})
    _check_keys(head, {"threshold", "bias", "max_chars"}, "classify.", where)
    rules = tuple(_rule(item, i, where, None) for i, item in enumerate(data.get("rule", []), 1))
    _check_unique(rules, where)
    _check_keys(data.get("reply", {}), {"attribution", "forward"}, "reply.", where)
    rs = Rules(threshold=_unit(head.get("threshold", 0.5), "classify.threshold", where),
               bias=_number(head.get("bias", 0.0), "classify.bias", where),
               rules=rules,
               max_chars=_count(head.get("max_chars", 0), "classify.max_chars", where),
               attribution=_strings(data.get("reply", {}).get("attribution", []),
                                    "reply.attribution", where),
               forward=_strings(data.get("reply", {}).get("forward", []), "reply.forward", where),
               partners=_partners(data.get("partners", {}), PartnerRules(), where),
               source=where)
    return _apply_weights(rs, data.get("weights", {}), where)


def _merge(base: Rules, data: dict[str, Any], where: str) -> Rules:
    """Override: same-named rules are updated key by key, new names are added."""
    _check_keys(data, _TOP_KEYS, "", where)
    head = data.get("classify", {})
    _check_keys(head, {"threshold", "bias", "max_chars"}, "classify.", where)
    rules = list(base.rules)
    index = {r.name: i for i, r in enumerate(rules)}
    for i, item in enumerate(data.get("rule", []), 1):
        name = item.get("name") if isinstance(item, dict) else None
        prior = rules[index[name]] if name in index else None
        rule = _rule(item, i, where, prior)
        if prior is not None:
            rules[index[name]] = rule
        else:
            index[rule.name] = len(rules)
            rules.append(rule)
    reply = data.get("reply", {})
    _check_keys(reply, {"attribution", "forward"}, "reply.", where)
    rs = Rules(
        threshold=_unit(head["threshold"], "classify.threshold", where)
        if "threshold" in head else base.threshold,
        bias=_number(head["bias"], "classify.bias", where) if "bias" in head else base.bias,
        rules=tuple(rules),
        max_chars=_count(head["max_chars"], "classify.max_chars", where)
        if "max_chars" in head else base.max_chars,
        attribution=_strings(reply["attribution"], "reply.attribution", where)
        if "attribution" in reply else base.attribution,
        forward=_strings(reply["forward"], "reply.forward", where)
        if "forward" in reply else base.forward,
        partners=_partners(data.get("partners", {}), base.partners, where),
        source=where)
    return _apply_weights(rs, data.get("weights", {}), where)


def _apply_weights(rules: Rules, weights: Any, where: str) -> Rules:
    if not isinstance(weights, dict):
        raise ConfigError(f"{where}: [weights] must be a table of rule = weight")
    if not weights:
        return rules
    known = {r.name for r in rules.rules}
    for name, value in weights.items():
        if name not in known:
            raise ConfigError(f"{where}: weights.{name}: no rule of that name")
        _number(value, f"weights.{name}", where)
    return replace(rules, rules=tuple(replace(r, weight=float(weights[r.name]))
                                      if r.name in weights else r for r in rules.rules))


def _check_keys(table: Any, allowed: set[str], prefix: str, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'file'} must be a table")
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {prefix}{key}")


def _check_unique(rules: Sequence[Rule], where: str) -> None:
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise ConfigError(f"{where}: rule {r.name!r} is defined twice")
        seen.add(r.name)


def _rule(item: Any, i: int, where: str, prior: Rule | None) -> Rule:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: rule[{i}] must be a table")
    allowed = {f.name for f in fields(Rule)}
    for key in item:
        if key not in allowed:
            raise ConfigError(f"{where}: rule[{i}].{key}: unknown key")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: rule[{i}].name is missing")
    label = f"rule {name!r}"
    if prior is None and "weight" not in item:
        raise ConfigError(f"{where}: {label}.weight is missing")
    kw: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("weight", "subject_weight"):
            kw[key] = _number(value, f"{label}.{key}", where)
        elif key in ("where", "patterns", "lists"):
            kw[key] = _strings(value, f"{label}.{key}", where)
        elif key == "max_hits":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{where}: {label}.max_hits must be a positive integer")
            kw[key] = value
        elif key == "enabled":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {label}.enabled must be true or false")
            kw[key] = value
        elif key in ("name", "kind", "description"):
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {label}.{key} must be a string")
            kw[key] = value
    rule = replace(prior, **kw) if prior is not None else Rule(**kw)
    if rule.kind not in KINDS:
        raise ConfigError(f"{where}: {label}.kind must be one of {', '.join(KINDS)}")
    bad = [w for w in rule.where if w not in PARTS]
    if bad:
        raise ConfigError(f"{where}: {label}.where: unknown part {bad[0]!r} "
                          f"(use {', '.join(PARTS)})")
    if rule.kind in ("text", "link") and not rule.patterns and rule.enabled:
        raise ConfigError(f"{where}: {label}.patterns is missing")
    if rule.kind == "list" and not rule.lists:
        raise ConfigError(f"{where}: {label}.lists is missing")
    return rule


def _partners(table: Any, base: PartnerRules, where: str) -> PartnerRules:
    allowed = {f.name for f in fields(PartnerRules)}
    _check_keys(table, allowed, "partners.", where)
    return replace(base, **{k: _strings(v, f"partners.{k}", where) for k, v in table.items()})
