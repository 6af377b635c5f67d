"""Load (read TOML) and parse (validate) the config; render the effective config back as TOML."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from appliance.config.model import AlprConfig


class ConfigError(ValueError):
    """The config file is unreadable or invalid; `problems` lists (key, value, message)."""

    def __init__(self, source: str, problems: list[tuple[str, Any, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid configuration"]
        lines += [f"  {key} = {value!r}: {msg}" for key, value, msg in problems]
        super().__init__("\n".join(lines))


def _lookup(data: dict, loc: tuple) -> Any:
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return "(missing)"
    return node


def parse_config(data: dict[str, Any], source: str = "<config>") -> AlprConfig:
    """Validate a parsed TOML document; raise ConfigError naming every bad key."""
    try:
        return AlprConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            key = ".".join(loc) or "(root)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = _allowed_keys(loc[:-1])
                msg = f"unknown key; allowed here: {', '.join(allowed)}"
            elif err["type"] == "literal_error":
                msg = f"{msg}"
            problems.append((key, _lookup(data, loc), msg))
        raise ConfigError(source, problems) from None


def _allowed_keys(loc: tuple) -> list[str]:
    model: type[BaseModel] = AlprConfig
    for part in loc:
        field = model.model_fields.get(part)
        sub = field.annotation if field is not None else None
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            return []
        model = sub
    return sorted(model.model_fields)


def load_config(path: str | Path | None) -> AlprConfig:
    """Read and validate a TOML file; None gives the embedded default."""
    if path is None:
        return AlprConfig()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = ("(file)", str(path), f"cannot read: {exc.strerror}")
        raise ConfigError(str(path), [problem]) from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), [("(file)", str(path), "not UTF-8 text")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [("(syntax)", "", f"not valid TOML: {exc}")]) from None
    return parse_config(data, str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def render_config(config: AlprConfig) -> str:
    """The effective config as TOML, each key preceded by its description."""
    out = [f"config_version = {config.config_version}"]
    for name, field in type(config).model_fields.items():
        section = getattr(config, name)
        if not isinstance(section, BaseModel):
            continue
        out += ["", f"# {field.description}", f"[{name}]"]
        for key, sub in type(section).model_fields.items():
            value = getattr(section, key)
            out.append(f"# {sub.description}")
            out.append(f"# {key} = (none)" if value is None else f"{key} = {_toml_value(value)}")
    return "\n".join(out) + "\n"
