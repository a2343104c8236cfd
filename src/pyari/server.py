"""One pyari process: configuration, core, dialplan, Stasis, ARI, HTTP, CLI.

:class:`Server` wires the packages together and owns reloads.  It can be
embedded (tests, ``pyari.testing``) or run by ``pyari serve``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import getpass
import logging
import os
import platform
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyari
from pyari.ari.context import AriContext
from pyari.ari.service import AriService
from pyari.channels.audiosocket import AudioSocketTech
from pyari.channels.local import LocalTech
from pyari.channels.pjsip import PjsipTech
from pyari.channels.rtp_media import RtpMedia, RtpStream
from pyari.channels.sim import SimTech
from pyari.channels.unicast_rtp import UnicastRtpTech
from pyari.channels.websocket_media import WebSocketMediaTech
from pyari.config import Config, ConfigError, load_config, load_one
from pyari.config.ari_outbound import resolve_outbound
from pyari.config.codecs import CodecSettings
from pyari.config.logger import load_logger
from pyari.config.musiconhold import MohClass, load_musiconhold
from pyari.config.overrides import Overrides
from pyari.config.pjsip import PjsipSettings
from pyari.config.rtp import RtpSettings
from pyari.config.websocket_client import WebSocketClient, load_websocket_clients
from pyari.core.astdb import AstDb
from pyari.core.devices import DeviceStates
from pyari.core.engine import Core
from pyari.core.logchannels import LogChannels
from pyari.core.mailboxes import Mailboxes
from pyari.core.modules import Modules
from pyari.dialplan import apps as _apps  # noqa: F401  (registers applications)
from pyari.dialplan.executor import Pbx
from pyari.dialplan.loader import DialplanError, build_dialplan
from pyari.dialplan.model import Dialplan
from pyari.dialplan.stasis_contexts import StasisContexts
from pyari.http import make_http_server
from pyari.http.outbound import OutboundWebsockets
from pyari.http.static import PACKAGED as STATIC_PAGES
from pyari.media.service import MediaService
from pyari.sip.websocket import SipWebSockets
from pyari.stasis import dialplan_app as _stasis_app  # noqa: F401
from pyari.stasis.per_call import PerCall
from pyari.stasis.playback import Playbacks
from pyari.stasis.recording import LiveRecordings
from pyari.stasis.registry import Registry
from pyari.wallclock import ari_timestamp

if TYPE_CHECKING:
    from pyari.cli.control import ControlServer
    from pyari.cluster.service import Cluster
    from pyari.stasis.eventlog_nats import JetStreamLogs

log = logging.getLogger("pyari")
verbose = logging.getLogger("pyari.verbose")

BUILD_DATE = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@functools.cache
def _user() -> str:
    """The user pyari runs as (looked up once: ``getpass.getuser`` reads the passwd db)."""
    return getpass.getuser()


def default_entity_id() -> str:
    node = uuid.getnode()
    return ":".join(f"{(node >> s) & 0xFF:02x}" for s in range(40, -1, -8))


class _RtpMedia(RtpMedia):
    """RTP sockets that wake the media clock (it parks while nothing needs media)."""

    def open(self, *args: Any, **kwargs: Any) -> RtpStream:
        stream = super().open(*args, **kwargs)
        if self.clock is not None:
            self.clock.wake()
        return stream


class StartError(Exception):
    """The server cannot start: a port is taken, another server has its control socket.

    Its text is one line for the user (``pyari serve`` prints it after ``pyari: ``).
    """


class Server:
    """A running (or ready to run) pyari.

    A server that loads its own configuration (``config=None``) is private: unless
    ``$PYARI_STATE_DIR`` says otherwise, its spool, run, log and lib folders are in a
    temporary folder removed by :meth:`stop`. ``pyari serve`` passes the configuration
    it loaded, whose folders are those of :func:`pyari.config.state_dir`.
    ``overrides`` (``--bind``, ``--sip``...) apply over the files at start and reload.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        config_dir: Path | None = None,
        sip_port: int | None = None,
        overrides: Overrides | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.sip_port = sip_port
        """Overrides the port of every pjsip transport (0: a free one; tests)."""
        self.overrides = overrides or Overrides()
        self.private_state: Path | None = None
        """The temporary state folder of a server that loaded its own configuration."""
        if config is None:
            if not os.environ.get("PYARI_STATE_DIR"):
                self.private_state = Path(tempfile.mkdtemp(prefix="pyari-state-"))
            try:
                config = load_config(config_dir, state=self.private_state)
            except ConfigError:
                self._remove_private_state()
                raise
        if not self.overrides.empty:
            config = dataclasses.replace(config, http=self.overrides.http(config.http))
        self.config = config
        self.stop_reason = ""
        """Why the server stops (``SIGTERM``, ``core stop now``...), for the last lines."""
        self._info: tuple[tuple[object, ...], dict[str, Any]] | None = None
        cfg = self.config
        self.core = Core(
            entity_id=cfg.asterisk.entityid or default_entity_id(),
            system_name=cfg.asterisk.systemname,
            snapshot_channelvars=cfg.ari.channelvars,
        )
        self.local = LocalTech()
        self.sim = SimTech(self.core)
        self.core.register_tech(self.local)
        self.core.register_tech(self.sim)
        self.ws_clients: dict[str, WebSocketClient] = load_websocket_clients(config_dir)
        """websocket_client.conf: where WebSocket media channels connect out."""
        self.audiosocket = AudioSocketTech()
        self.websocket_media = WebSocketMediaTech(lambda: self.ws_clients)
        self.core.register_tech(self.audiosocket)
        self.core.register_tech(self.websocket_media)
        self.moh: dict[str, MohClass] = load_musiconhold(config_dir, cfg.asterisk.astdatadir)
        self.media = MediaService(
            self.core,
            sounds_dir=lambda: self.config.asterisk.astdatadir / "sounds",
            recording_dir=lambda: self.config.asterisk.astspooldir / "recording",
            moh_classes=lambda: self.moh,
        )
        self.playbacks = Playbacks(self.media)
        self.recordings = LiveRecordings(self.media)
        self.rtp: RtpMedia = _RtpMedia(self.media.clock)
        rtp = self.rtp
        rtp.apply(self.load_rtp())
        codecs = self.load_codecs()
        self.media.idle_checks.append(lambda: not rtp.streams)
        self.pbx = Pbx(self.core, build_dialplan(cfg.extensions))
        self.pjsip = PjsipTech(self.load_pjsip(), exten_exists=self.pbx.exten_exists, codecs=codecs)
        self.core.register_tech(self.pjsip)
        self.core.register_tech(UnicastRtpTech(self.rtp))
        self.stasis = Registry(self.core)
        self.stasis.configure(cfg.ari.event_streams)
        self.pbx.provide(self.stasis)
        self.astdb = AstDb(cfg.asterisk.astdbdir / "astdb.sqlite3")
        self.devices = DeviceStates(self.core, self.astdb, self.pbx.exten_exists)
        self.mailboxes = Mailboxes(self.astdb)

        async def reload_res_ari() -> bool:
            return "failed" not in self.reload_ari()

        async def reload_pbx_config() -> bool:
            return self.reload_dialplan() == "Dialplan reloaded."

        self.modules = Modules(
            reloaders={"res_ari.so": reload_res_ari, "pbx_config.so": reload_pbx_config}
        )
        self.logchannels: LogChannels | None = None
        self.event_logs: JetStreamLogs | None = None
        """``event_log = nats``: the JetStream connection of the apps' logs (:meth:`start`)."""
        self.cluster: Cluster | None = None
        """cluster.conf ``enabled = yes``: this node of the cluster (:meth:`start`)."""
        """Opened by :meth:`start` (they attach handlers to the ``pyari`` logger)."""
        self.ari_context = AriContext(
            self.core,
            self.stasis,
            self.pbx,
            lambda: self.config.ari,
            info=self.info,
            directories=lambda: self.config.asterisk,
            devices=self.devices,
            mailboxes=self.mailboxes,
            modules=self.modules,
            playbacks=self.playbacks,
            recordings=self.recordings,
        )
        self.ari = AriService(self.ari_context)
        self.sip_websockets = SipWebSockets(
            lambda: self.pjsip.service, lambda: self.pjsip.settings.transports.values()
        )
        """``/ws``: SIP over WebSocket for the ws/wss transports (the HTTP layer imports no SIP)."""
        self.http = make_http_server(
            self.ari,
            self.websocket_media,
            cfg.http,
            sip_sockets=self.sip_websockets,
            static_roots=(cfg.asterisk.astdatadir / "static-http", STATIC_PAGES),
        )
        self.outbound = OutboundWebsockets(self.ari, contexts=StasisContexts(self.pbx))
        """ari.conf ``outbound_websocket`` sections: the connections pyari opens to apps."""
        self.pbx.provide(PerCall(self.outbound))
        self.control: ControlServer | None = None
        """The control socket ``pyari -rx`` talks to (:meth:`start` with ``control_socket``)."""
        self.stopped = asyncio.Event()
        self.started_at = 0.0
        self.running = False
        """Set when :meth:`start` has finished; the shutdown lines are printed only then."""

    @property
    def dialplan(self) -> Dialplan:
        return self.pbx.dialplan

    # -- lifecycle ---------------------------------------------------------------

    async def start(self, *, control_socket: bool = False) -> None:
        """Bind and serve. ``control_socket`` (``pyari serve`` sets it) also listens on
        ``<astrundir>/pyari.ctl`` for ``pyari -rx``; it is taken first, so a second server
        on the same state is refused before it binds anything.

        Raises :class:`StartError` (one line for the user) when a port or the socket is
        taken; the caller then calls :meth:`stop`.
        """
        self.started_at = self.core.startup
        if control_socket:
            from pyari.cli.control import AlreadyRunning, ControlServer, PathTooLong

            control = ControlServer(self, self.config.asterisk.astrundir)
            try:
                await control.start()
            except PathTooLong as exc:
                raise StartError(str(exc)) from exc
            except AlreadyRunning as exc:
                folder = f" -C {self.config_dir}" if self.config_dir is not None else ""
                raise StartError(
                    f"already running on {exc.path} (`pyari{folder} -rx COMMAND` talks "
                    "to it; another PYARI_STATE_DIR starts a second server)"
                ) from exc
            self.control = control
        if self.logchannels is None:
            self.logchannels = LogChannels(
                load_logger(self.config_dir), self.config.asterisk.astlogdir
            )
            self.ari_context.logchannels = self.logchannels
        self.media.start()
        await self._start_event_log()
        await self._start_cluster()
        if self.pjsip.settings.transports:
            try:
                await self.pjsip.start(self.core, self.rtp, port=self.sip_port)
            except OSError as exc:
                text = str(exc)
                raise StartError(
                    text if text.startswith("pjsip transport") else f"SIP cannot start: {text}"
                ) from exc
        try:
            await self.http.start()
        except OSError as exc:
            raise StartError(f"HTTP server cannot start: {_bind_error(exc)}") from exc
        self._announce_http()
        if self.cluster is not None:
            await self.cluster.announce()  # its SIP and HTTP addresses are known now
        self._apply_outbound()
        self.running = True
        verbose.info("pyari %s ready.", pyari.__version__)

    async def _start_event_log(self) -> None:
        """``event_log = nats``: the apps' logs go to JetStream (needs the ``cluster`` extra)."""
        streams = self.config.ari.event_streams
        cluster = self.config.cluster
        on_cluster = cluster.enabled and not streams.log_given
        if (streams.log != "nats" and not on_cluster) or self.event_logs is not None:
            return
        try:
            from pyari.stasis.eventlog_nats import JetStreamLogs
        except ImportError as exc:
            raise StartError(
                f"event_log = nats needs nats-py (pip install pyari[cluster]): {exc}"
            ) from exc
        if on_cluster:  # the cluster's NATS, credentials and TLS
            from pyari.cluster.link import connect_options

            logs = JetStreamLogs(
                cluster.nats_url, options=connect_options(cluster), space=cluster.cluster
            )
        else:
            logs = JetStreamLogs(streams.nats_url)
        try:
            await logs.start()
        except Exception as exc:
            if on_cluster:
                raise StartError(f"cluster: cannot reach NATS at {logs.url}: {exc}") from exc
            raise StartError(f"event_log = nats: cannot use {streams.nats_url}: {exc}") from exc
        self.event_logs = logs
        self.stasis.log_factory = logs

    async def _start_cluster(self) -> None:
        """cluster.conf ``enabled = yes``: join the cluster (needs the ``cluster`` extra)."""
        settings = self.config.cluster
        if not settings.enabled or self.cluster is not None:
            return
        try:
            from pyari.cluster.service import Cluster
        except ImportError as exc:
            raise StartError(f"cluster: needs nats-py (pip install pyari[cluster]): {exc}") from exc
        cluster = Cluster(
            settings,
            self.core,
            stasis=self.stasis,
            ari=self.ari,
            playbacks=self.playbacks,
            recordings=self.recordings,
            addresses=self._addresses,
        )
        self.cluster = cluster  # set first: a stop during the start stops it too
        try:
            await cluster.start()
        except Exception as exc:
            reached = cluster.link.nc is not None
            self.cluster = None
            await cluster.stop()
            if not reached:
                raise StartError(
                    f"cluster: cannot reach NATS at {settings.nats_url}: {exc}"
                ) from exc
            raise StartError(f"cluster: cannot start: {exc}") from exc

    def _addresses(self) -> tuple[str, str]:
        """``host:port`` of the first SIP transport and of HTTP ("" when not bound)."""
        sip = ""
        if self.pjsip.running:
            host, port = self.pjsip.address()
            sip = f"{host}:{port}"
        http = next((f"{b.host}:{b.port}" for b in self.http.bindings if not b.tls), "")
        return sip, http

    def _announce_http(self, besides: Sequence[object] = ()) -> None:
        """The "Enabled and Bound to" line of each listener (but those of ``besides``)."""
        for b in self.http.bindings:
            if b in besides:
                continue
            verbose.info(
                "  == %s Server Enabled and Bound to %s:%d",
                "HTTPS" if b.tls else "HTTP",
                b.host,
                b.port,
            )

    async def stop(self, *, graceful: bool = False, reason: str | None = None) -> None:
        """Hang up every call (``graceful``: wait for them to end first), close every
        listener and socket. ``reason`` (``"SIGTERM"``, ``"core stop now"``...) is named
        in the shutdown lines on the console."""
        if self.stopped.is_set():
            return
        if reason is not None:
            self.stop_reason = reason
        say = verbose.info if self.running else _silent
        why = f" ({self.stop_reason})" if self.stop_reason else ""
        if graceful:
            say("Waiting for the last call to end before shutting down%s...", why)
            while self.core.channels:
                await asyncio.sleep(0.05)
        else:
            say("Beginning pyari shutdown%s...", why)
        calls = len(self.core.channels)
        self.core.hangup_all()
        for _ in range(100):
            if not self.core.channels:
                break
            await asyncio.sleep(0.01)
        if calls:
            say("pyari ending uncleanly: %d channel(s) were hung up.", calls)
        else:
            say("pyari ending cleanly: no channels were up.")
        say("Executing last minute cleanups")
        await self.outbound.stop()
        await self.http.stop()
        await self.pjsip.stop()
        self.rtp.close()
        if self.cluster is not None:
            await self.cluster.stop()
            self.cluster = None
        if self.control is not None:
            await self.control.stop()
            self.control = None
        for task in list(self.core.tasks):
            task.cancel()
        await self.media.stop()
        if self.event_logs is not None:
            await self.event_logs.close()
            self.event_logs = None
        self.devices.close()
        self.astdb.close()
        self._remove_private_state()
        say("pyari stopped.")
        self.running = False
        if self.logchannels is not None:
            self.logchannels.close()
        self.stopped.set()

    def _remove_private_state(self) -> None:
        if self.private_state is not None:
            shutil.rmtree(self.private_state, ignore_errors=True)
            self.private_state = None

    @property
    def http_port(self) -> int:
        """The bound HTTP port (useful with ``bindport = 0``)."""
        for b in self.http.bindings:
            if not b.tls:
                return b.port
        raise RuntimeError("HTTP is not bound")

    @property
    def https_port(self) -> int:
        for b in self.http.bindings:
            if b.tls:
                return b.port
        raise RuntimeError("HTTPS is not bound")

    # -- reloads -----------------------------------------------------------------

    def _reload_config(self) -> Config:
        cfg = load_config(self.config_dir)
        if self.overrides.empty:
            return cfg
        return dataclasses.replace(cfg, http=self.overrides.http(cfg.http))

    def reload_dialplan(self) -> str:
        """``dialplan reload``: swap in the new dialplan or keep the old one."""
        try:
            # extensions.conf only, as Asterisk's pbx_config: a broken ari.conf is not its business
            extensions = load_one(self.config_dir, "extensions.conf")
            dialplan = build_dialplan(extensions)
        except (ConfigError, DialplanError) as exc:
            log.error("Dialplan reload failed, keeping the old dialplan: %s", exc)
            return f"Dialplan reload failed: {exc}"
        self.config = dataclasses.replace(self.config, extensions=extensions)
        self.pbx.swap(dialplan)
        self.core.last_reload = time.time()
        return "Dialplan reloaded."

    def load_rtp(self) -> RtpSettings:
        """rtp.conf (port range, ICE addresses; the defaults, logged, when it is bad)."""
        from pyari.config.acl import load_named_acls

        try:
            return RtpSettings.from_sections(
                load_one(self.config_dir, "rtp.conf"),
                load_named_acls(load_one(self.config_dir, "acl.conf")),
            )
        except ConfigError as exc:
            log.error("rtp.conf could not be loaded: %s", exc)
            return RtpSettings()

    def load_codecs(self) -> CodecSettings:
        """codecs.conf ([opus]: the Opus encoder and fmtp; the defaults, logged, when it
        is bad)."""
        try:
            return CodecSettings.from_sections(load_one(self.config_dir, "codecs.conf"))
        except ConfigError as exc:
            log.error("codecs.conf could not be loaded: %s", exc)
            return CodecSettings()

    def _read_pjsip(self) -> PjsipSettings:
        """pjsip.conf, with acl.conf's named ACLs when a type=acl section names some
        (otherwise acl.conf is not read, so a bad one does not stop SIP)."""
        from pyari.config.acl import load_named_acls

        sections = load_one(self.config_dir, "pjsip.conf")
        named = None
        if any(
            e.key.strip().lower() in ("acl", "contact_acl") for s in sections for e in s.entries
        ):
            named = load_named_acls(load_one(self.config_dir, "acl.conf"))
        return PjsipSettings.from_sections(sections, named)

    def load_pjsip(self) -> PjsipSettings:
        """pjsip.conf of the configuration (an empty one, logged, when it is bad)."""
        try:
            settings = self._read_pjsip()
        except ConfigError as exc:
            log.error("pjsip.conf could not be loaded: %s", exc)
            settings = PjsipSettings()
        return self.overrides.pjsip(settings)

    def reload_pjsip(self) -> str:
        """``pjsip reload``: new endpoints, AORs and auths; transports stay bound."""
        try:
            settings = self._read_pjsip()
        except ConfigError as exc:
            return _reload_failed("pjsip.conf", "Module 'res_pjsip.so'", exc)
        self.pjsip.reload(self.overrides.pjsip(settings))
        self.core.last_reload = time.time()
        return "Module 'res_pjsip.so' reloaded successfully."

    async def reload_res_pjsip(self) -> str:
        """``module reload res_pjsip.so``: pjsip.conf as ``pjsip reload``, and the transports
        new in it start (a ws/wss one serves /ws at once); one that changed or went away
        keeps running until a restart, as in Asterisk (its ``allow_reload`` off)."""
        result = self.reload_pjsip()
        if "failed" in result:
            return result
        try:
            await self.pjsip.add_transports(self.core, self.rtp, port=self.sip_port)
        except OSError as exc:
            log.error("pjsip.conf reload: %s", exc)
            return f"Module 'res_pjsip.so' reload failed: {exc}"
        return result

    def reload_ari(self) -> str:
        """``module reload res_ari.so``: new users, origins, formatting."""
        try:
            cfg = self._reload_config()
        except ConfigError as exc:
            return _reload_failed("ari.conf", "Module 'res_ari.so'", exc)
        self.config = dataclasses.replace(self.config, ari=cfg.ari, source_dir=cfg.source_dir)
        self.core.snapshot_channelvars = cfg.ari.channelvars
        self.stasis.configure(cfg.ari.event_streams)
        self.ws_clients = load_websocket_clients(self.config_dir)
        if self.running:
            self._apply_outbound()
        self.core.last_reload = time.time()
        return "Module 'res_ari.so' reloaded successfully."

    def _apply_outbound(self) -> None:
        """Start, update or stop the outbound ARI connections of ari.conf."""
        ari = self.config.ari
        self.outbound.apply(resolve_outbound(ari.outbound_websockets, self.ws_clients, ari.users))

    async def reload_http(self) -> str:
        """``reload http``: rebind if an address changed, reread the TLS certificate;
        live calls stay.

        All or nothing: on an error (a bad file, a missing certificate, an address
        that cannot be bound) the old listeners and settings stay as they were, and
        the answer (for the log and the local CLI only) names the setting and file.
        """
        try:
            cfg = self._reload_config()
        except ConfigError as exc:
            return _reload_failed("http.conf", "http.conf", exc)
        before = list(self.http.bindings)
        try:
            await self.http.reconfigure(cfg.http)
        except OSError as exc:
            return _reload_failed("http.conf", "http.conf", exc)
        self.config = dataclasses.replace(self.config, http=cfg.http, source_dir=cfg.source_dir)
        self._announce_http(besides=before)  # (what was rebound, as Asterisk prints it)
        return ""

    # -- facts ---------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """``GET /asterisk/info``'s facts: one dict, rebuilt only when one of them changes.

        Callers must not change it (the same object is handed out until a reload).
        """
        core = self.core
        key = (core.startup, core.last_reload, core.system_name, core.entity_id)
        if self._info is None or self._info[0] != key:
            self._info = (key, self._build_info())
        return self._info[1]

    def _build_info(self) -> dict[str, Any]:
        uname = platform.uname()
        return {
            "build": {
                "os": uname.system,
                "kernel": uname.release,
                "machine": uname.machine,
                "options": "",
                "date": BUILD_DATE,
                "user": _user(),
            },
            "system": {"version": pyari.__version__, "entity_id": self.core.entity_id},
            "config": {
                "name": self.core.system_name,
                "default_language": "en",
                "setid": {"user": _user(), "group": ""},
            },
            "status": {
                "startup_time": ari_timestamp(self.core.startup),
                "last_reload_time": ari_timestamp(self.core.last_reload),
            },
        }

    @property
    def hostname(self) -> str:
        return socket.gethostname()


def _reload_failed(conf: str, answer: str, exc: Exception) -> str:
    """Log that reloading ``conf`` failed and its old settings stay; the reload's answer
    (``<answer> reload failed: <why>``)."""
    log.error("%s reload failed, keeping the old settings: %s", conf, exc)
    return f"{answer} reload failed: {exc}"


def _silent(msg: str, *args: object) -> None:
    """The shutdown lines of a server that never finished starting: none."""


def _bind_error(exc: OSError) -> str:
    """``127.0.0.1:8088: address already in use`` from asyncio's bind error (an error
    without errno, as the HTTP listeners raise, already says where: its text)."""
    import errno
    import re

    text = str(exc)
    if exc.errno is None:
        return text
    m = re.search(r"address \('([^']*)', (\d+)[^)]*\)", text)
    where = f"{m.group(1)}:{m.group(2)}: " if m else ""
    if exc.errno is not None and exc.errno in errno.errorcode:
        return where + os.strerror(exc.errno).lower()
    return text
