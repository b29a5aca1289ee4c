"""Reading, merging and interpolating the YAML configuration tree, with provenance.

The result is a plain nested ``dict`` plus a map from every dotted key to the place
that last set it (a file path or ``--set``), so that validation errors can name
both the key and where it came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from careplus_spark.errors import ConfigError

Tree = dict[str, Any]
Provenance = dict[str, str]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in result:
            line = key_node.start_mark.line + 1
            raise ConfigError(f"duplicate key {key!r} at line {line} of {node.start_mark.name}")
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path | Traversable) -> Tree:
    """Reads one YAML file that must hold a mapping (an empty file is an empty mapping).

    ``path`` may be packaged data inside a zip (:mod:`careplus_spark.platform.package_data`).

    Raises:
        ConfigError: the file is missing, is not valid YAML, repeats a key or is not a mapping.
    """
    if not path.is_file():
        raise ConfigError(f"configuration file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level, found {type(data).__name__}")
    return data


def merge(base: Tree, overlay: Mapping[str, Any], origin: str, provenance: Provenance, prefix: str = "") -> Tree:
    """Deep-merges ``overlay`` into a copy of ``base``; mappings merge, anything else replaces.

    Every leaf set by ``overlay`` is recorded in ``provenance`` as coming from ``origin``.
    """
    result = dict(base)
    for key, value in overlay.items():
        if not isinstance(key, str):
            raise ConfigError(f"{origin}: key {key!r} under '{prefix or '<top>'}' must be a string")
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value, origin, provenance, dotted + ".")
        else:
            result[key] = value
            _record(value, dotted, origin, provenance)
    return result


def _record(value: Any, dotted: str, origin: str, provenance: Provenance) -> None:
    provenance[dotted] = origin
    if isinstance(value, dict):
        for key, child in value.items():
            _record(child, f"{dotted}.{key}", origin, provenance)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parses one ``--set a.b=c`` override; the value is read as a YAML scalar.

    Raises:
        ConfigError: the override has no ``=`` or an empty key.
    """
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise ConfigError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. --set sources.tickets.fetch_size=5000")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def apply_overrides(tree: Tree, overrides: Sequence[str], provenance: Provenance) -> Tree:
    """Applies ``--set`` overrides on top of the merged tree."""
    for text in overrides:
        parts, value = parse_override(text)
        nested: Any = value
        for part in reversed(parts):
            nested = {part: nested}
        tree = merge(tree, nested, "--set", provenance)
    return tree


def interpolate(value: Any, dotted: str, provenance: Provenance, environ: Mapping[str, str]) -> Any:
    """Replaces ``${VAR}`` and ``${VAR:-default}`` in every string of a tree.

    Raises:
        ConfigError: a variable without default is not set; names key, file and variable.
    """
    if isinstance(value, dict):
        return {k: interpolate(v, f"{dotted}.{k}" if dotted else k, provenance, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, dotted, provenance, environ) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{dotted} (set in {provenance.get(dotted, '?')}) refers to environment variable "
            f"{name}, which is not set; export it or give a default as ${{{name}:-value}}"
        )

    return _VAR.sub(substitute, value)


def env_reference(value: str) -> tuple[str, str | None] | None:
    """Returns (variable, default) when a string is exactly one ``${VAR}`` reference."""
    match = _VAR.fullmatch(value.strip())
    return (match.group(1), match.group(2)) if match else None
