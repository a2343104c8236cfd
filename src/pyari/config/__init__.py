"""pyari.config: Asterisk's ``.conf`` dialect and the typed settings read from it.

Pure code: parsing and validation only, no sockets and no HTTP.
"""

from pyari.config.embedded import (
    EMBEDDED_MARKER,
    embedded_dir,
    embedded_names,
    embedded_text,
    write_samples,
)
from pyari.config.errors import ConfigError
from pyari.config.loader import Config, load_config, load_one, load_run_dir
from pyari.config.parser import Entry, Opener, Section, parse_file, parse_text
from pyari.config.settings import (
    AriSettings,
    AriUser,
    AsteriskSettings,
    HttpSettings,
    PasswordFormat,
    state_dir,
)
from pyari.config.values import (
    last_entries,
    parse_bool,
    parse_hostport,
    parse_int,
    parse_port,
    split_list,
)

__all__ = [
    "EMBEDDED_MARKER",
    "AriSettings",
    "AriUser",
    "AsteriskSettings",
    "Config",
    "ConfigError",
    "Entry",
    "HttpSettings",
    "Opener",
    "PasswordFormat",
    "Section",
    "embedded_dir",
    "embedded_names",
    "embedded_text",
    "last_entries",
    "load_config",
    "load_one",
    "load_run_dir",
    "parse_bool",
    "parse_file",
    "parse_hostport",
    "parse_int",
    "parse_port",
    "parse_text",
    "split_list",
    "state_dir",
    "write_samples",
]
