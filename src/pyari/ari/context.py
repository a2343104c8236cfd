"""What ARI operation handlers may use: the live system, nothing of HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyari.config import AriSettings
    from pyari.core.engine import Core
    from pyari.dialplan.executor import Pbx
    from pyari.stasis.registry import Registry


@dataclass
class AriContext:
    core: Core
    stasis: Registry
    pbx: Pbx
    settings: Callable[[], AriSettings]
    """The ARI settings in force (they change on reload)."""
    info: Callable[[], dict[str, Any]] = field(default=lambda: {})
    """Build/system/config/status facts for ``GET /asterisk/info``."""
