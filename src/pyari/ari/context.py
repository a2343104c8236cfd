"""What ARI operation handlers may use: the live system, nothing of HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyari.config import AriSettings
    from pyari.config.settings import AsteriskSettings
    from pyari.core.devices import DeviceStates
    from pyari.core.engine import Core
    from pyari.core.logchannels import LogChannels
    from pyari.core.mailboxes import Mailboxes
    from pyari.core.modules import Modules
    from pyari.dialplan.executor import Pbx
    from pyari.stasis.playback import Playbacks
    from pyari.stasis.recording import LiveRecordings
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
    directories: Callable[[], AsteriskSettings] | None = None
    """asterisk.conf directories in force (spool for recordings ...)."""
    devices: DeviceStates | None = None
    """Device states (``/deviceStates``)."""
    mailboxes: Mailboxes | None = None
    """External mailboxes (``/mailboxes``, dynamic config ``res_mwi_external``)."""
    modules: Modules | None = None
    """pyari's parts as Asterisk modules (``/asterisk/modules``)."""
    logchannels: LogChannels | None = None
    """Log channels (``/asterisk/logging``)."""
    playbacks: Playbacks | None = None
    """Live playbacks (``/playbacks``, channel and bridge play)."""
    recordings: LiveRecordings | None = None
    """Live recordings (``/recordings/live``, channel and bridge record)."""
