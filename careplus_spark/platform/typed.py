"""Turns a plain configuration tree into frozen, typed dataclasses, or fails clearly.

Supported field types: ``str``, ``int``, ``float``, ``bool``, ``datetime.date``,
``Literal[...]``, ``X | None``, ``tuple[T, ...]``, ``dict[str, T]``, nested frozen
dataclasses and :class:`~careplus_spark.platform.secrets.Secret`. Strings are
interpolated (``${VAR}``) here, leaf by leaf, so a secret can refuse literals before
its reference is resolved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from careplus_spark.errors import ConfigError
from careplus_spark.platform import config_checks, secrets
from careplus_spark.platform.secrets import Secret, looks_secret
from careplus_spark.platform.yaml_tree import Provenance, interpolate

_MISSING = object()


def build(
    cls: type[Any], tree: Mapping[str, Any], provenance: Provenance, environ: Mapping[str, str], prefix: str = ""
) -> Any:
    """Builds dataclass ``cls`` from ``tree``.

    Raises:
        ConfigError: an unknown key, a missing required key, a value of the wrong type or one
            that breaks its field's checks (:mod:`careplus_spark.platform.config_checks`);
            the message names the dotted key and the file that set it.
    """
    if not isinstance(tree, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or '<top>'} must be a mapping, found {_describe(tree)}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(tree) - set(fields))
    if unknown:
        key = f"{prefix}{unknown[0]}"
        raise ConfigError(
            f"unknown configuration key {key!r} (set in {provenance.get(key, '?')}); "
            f"known keys under '{prefix.rstrip('.') or '<top>'}': {sorted(fields)}"
        )
    values = {}
    for name, field in fields.items():
        key = f"{prefix}{name}"
        raw = tree.get(name, _MISSING)
        if raw is _MISSING:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                if dataclasses.is_dataclass(hints[name]):
                    raw = {}
                else:
                    raise ConfigError(f"missing required configuration key {key!r} (read: {_origins(provenance)})")
            else:
                continue
        values[name] = _convert(hints[name], raw, key, provenance, environ)
        config_checks.run_checks(field, values[name], key, provenance)  # ranges, patterns (field metadata)
    return cls(**values)


def _convert(tp: Any, raw: Any, key: str, provenance: Provenance, environ: Mapping[str, str]) -> Any:
    origin = get_origin(tp)
    where = provenance.get(key, "?")
    if tp is Secret:
        return Secret.from_config(raw, key, where, environ)
    if tp is str and looks_secret(key):  # spark.conf's *.secret.key, a JDBC option password: Secret's rules
        return secrets.setting_from_config(raw, key, where, environ)
    if isinstance(raw, str):
        raw = interpolate(raw, key, provenance, environ)
        secrets.refuse_url_credentials(raw, key, where)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if raw is None or (raw == "" and str not in args):
            return None
        return _convert(args[0], raw, key, provenance, environ)
    if dataclasses.is_dataclass(tp):
        return build(typing.cast(type, tp), raw or {}, provenance, environ, f"{key}.")
    if origin is Literal:
        if raw not in get_args(tp):
            raise ConfigError(f"{key} (set in {where}) must be one of {list(get_args(tp))}, found {raw!r}")
        return raw
    if origin is tuple:
        if not isinstance(raw, list):
            raise ConfigError(f"{key} (set in {where}) must be a list, found {_describe(raw)}")
        return tuple(_convert(get_args(tp)[0], item, key, provenance, environ) for item in raw)
    if origin in (dict, Mapping):
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{key} (set in {where}) must be a mapping, found {_describe(raw)}")
        value_type = get_args(tp)[1]
        return types.MappingProxyType(
            {str(k): _convert(value_type, v, f"{key}.{k}", provenance, environ) for k, v in raw.items()}
        )
    return _scalar(tp, raw, key, where)


def _scalar(tp: Any, raw: Any, key: str, where: str) -> Any:
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
    elif tp is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
    elif tp is float:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
            return str(raw)
    elif tp is dt.date:
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass
    else:
        raise TypeError(f"unsupported configuration type {tp!r} for {key}")
    raise ConfigError(f"{key} (set in {where}) must be {_type_name(tp)}, found {_describe(raw)}")


def _type_name(tp: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", dt.date: "a date (YYYY-MM-DD)"}
    return names.get(tp, str(tp))


def _describe(raw: Any) -> str:
    return f"{type(raw).__name__} {raw!r}"


def _origins(provenance: Provenance) -> str:
    return ", ".join(sorted(set(provenance.values()))) or "no files"


def plain(value: Any) -> Any:
    """The inverse of :func:`build` for display: dataclasses and mappings as dicts, secrets masked.

    A :class:`~careplus_spark.platform.secrets.Secret` becomes ``"*** (<source>)"`` when set
    (its source: ``env:VAR`` or ``aws-secretsmanager:<id>``, never the value), ``""`` when empty;
    so does the text value of a secret-looking mapping key (``spark.conf``'s ``*.secret.key``).

    Example:
        >>> plain(Secret("pw", "env:DB_PASSWORD"))
        '*** (env:DB_PASSWORD)'
    """
    if isinstance(value, Secret):
        return f"*** ({value.source})" if value.is_set() else ""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        masked = {str(k) for k, v in value.items() if looks_secret(str(k)) and isinstance(v, str) and v}
        return {str(k): "***" if str(k) in masked else plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
