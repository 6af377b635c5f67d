"""Configuration: one TOML file, strict schema, errors that name the key, value and what is allowed.

Loading (I/O) is separate from parsing (validation). Each section lives in its own module so
that each area of the unit owns its settings. Secrets never live in this file: keys and
passwords are files under the data directory or systemd credentials.
"""

from appliance.config.load import ConfigError, load_config, parse_config, render_config
from appliance.config.model import AlprConfig

__all__ = ["AlprConfig", "ConfigError", "load_config", "parse_config", "render_config"]
