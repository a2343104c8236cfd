"""pyari's parts as Asterisk's loadable modules (``module show``, ARI ``/asterisk/modules``).

Each part of pyari that has a counterpart module in Asterisk is listed under
that module's name (``res_ari.so``, ``res_ari_channels.so``, ``pbx_config.so``
...), with Asterisk's description, support level and dependencies.  A module's
use count is the number of running modules that require it, as Asterisk
counts references from dependent modules.

What is real: reloading ``res_ari.so`` (ari.conf) and ``pbx_config.so``
(extensions.conf) through callbacks the server gives; unloading a module of
one ARI resource (``res_ari_sounds.so`` ...) takes that resource off ARI
(requests answer 404 ``Resource not found``) until it is loaded again.  Other
modules cannot be unloaded while pyari runs: a soft unload of a module in use
fails, and the rest refuse as a module whose unload fails does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from pyari.core.refusals import Conflict, NotFound, Refused

__all__ = [
    "MODULES",
    "ModuleError",
    "ModuleInfo",
    "ModuleNotFound",
    "ModuleRefused",
    "ModuleSpec",
    "Modules",
    "base_name",
]

Reloader = Callable[[], Awaitable[bool]]
"""Reload a module's configuration; False when the reload failed."""


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    name: str
    description: str
    requires: tuple[str, ...] = ()
    """Base names (no ``.so``) of the modules it needs."""
    resource: str | None = None
    """The ARI resource it provides, for ``res_ari_<resource>.so``."""
    support_level: str = "core"


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """ARI's Module model."""

    name: str
    description: str
    use_count: int
    status: str
    support_level: str


class ModuleError(Refused):
    """A module request Asterisk refuses."""


class ModuleNotFound(ModuleError, NotFound):
    """No running module of that name."""


class ModuleRefused(ModuleError, Conflict):
    """The module is there (or known) but will not do what was asked now."""


def base_name(name: str) -> str:
    """A module name without ``.so``, folded for comparison (Asterisk ignores case)."""
    return (name[:-3] if name.lower().endswith(".so") and len(name) > 3 else name).lower()


_ARI = ("res_ari", "res_ari_model", "res_stasis")


def _ari(resource: str, module: str, description: str, *extra: str) -> ModuleSpec:
    return ModuleSpec(
        f"res_ari_{module}.so",
        f"RESTful API module - {description}",
        requires=(*_ARI, *extra),
        resource=resource,
    )


MODULES: tuple[ModuleSpec, ...] = (
    ModuleSpec("app_echo.so", "Simple Echo Application"),
    ModuleSpec("app_stasis.so", "Stasis dialplan application", ("res_stasis", "res_ari")),
    ModuleSpec("app_userevent.so", "Custom User Event Application"),
    ModuleSpec("app_verbose.so", "Send verbose output"),
    ModuleSpec("pbx_config.so", "Text Extension Configuration"),
    ModuleSpec("res_ari.so", "Asterisk RESTful Interface", ("res_stasis", "res_http_websocket")),
    _ari("applications", "applications", "Stasis application resources"),
    _ari("asterisk", "asterisk", "Asterisk resources"),
    _ari(
        "bridges",
        "bridges",
        "Bridge resources",
        "res_stasis_recording",
        "res_stasis_playback",
    ),
    _ari(
        "channels",
        "channels",
        "Channel resources",
        "res_stasis_answer",
        "res_stasis_playback",
        "res_stasis_recording",
        "res_stasis_snoop",
    ),
    _ari("deviceStates", "device_states", "Device state resources", "res_stasis_device_state"),
    _ari("endpoints", "endpoints", "Endpoint resources"),
    _ari("events", "events", "WebSocket resource", "res_http_websocket"),
    _ari("mailboxes", "mailboxes", "Mailboxes resources", "res_stasis_mailbox"),
    ModuleSpec("res_ari_model.so", "ARI Model validators"),
    _ari("playbacks", "playbacks", "Playback control resources", "res_stasis_playback"),
    _ari("recordings", "recordings", "Recording resources", "res_stasis_recording"),
    _ari("sounds", "sounds", "Sound resources"),
    ModuleSpec("res_http_websocket.so", "HTTP WebSocket Support"),
    ModuleSpec("res_mwi_external.so", "Core external MWI resource"),
    ModuleSpec("res_sorcery_astdb.so", "Sorcery Astdb Object Wizard"),
    ModuleSpec("res_stasis.so", "Stasis application support"),
    ModuleSpec("res_stasis_answer.so", "Stasis application answer support", ("res_stasis",)),
    ModuleSpec(
        "res_stasis_device_state.so", "Stasis application device state support", ("res_stasis",)
    ),
    ModuleSpec(
        "res_stasis_mailbox.so",
        "Stasis application mailbox support",
        ("res_stasis", "res_mwi_external"),
    ),
    ModuleSpec(
        "res_stasis_playback.so",
        "Stasis application playback support",
        ("res_stasis", "res_stasis_recording"),
    ),
    ModuleSpec("res_stasis_recording.so", "Stasis application recording support", ("res_stasis",)),
    ModuleSpec("res_stasis_snoop.so", "Stasis application snoop support", ("res_stasis",)),
)

# The events WebSocket is served outside the REST pipeline; it stays up.
_NOT_UNLOADABLE_RESOURCES = frozenset({"events"})


class Modules:
    """The running modules of one pyari and what load/unload/reload do to them."""

    def __init__(
        self,
        specs: Iterable[ModuleSpec] = MODULES,
        reloaders: dict[str, Reloader] | None = None,
    ) -> None:
        self.specs = {base_name(s.name): s for s in specs}
        self.running: dict[str, ModuleSpec] = dict(self.specs)
        """Loaded modules by base name; unloading removes them, as dlclose does."""
        self._module_of: dict[str, str] = {}
        """ARI resource -> the (folded) name of the module serving it."""
        for key, spec in self.specs.items():
            if spec.resource:
                self._module_of.setdefault(spec.resource, key)
        self.reloaders = {base_name(k): v for k, v in (reloaders or {}).items()}
        self.reloading = False
        self.generation = 0
        """Counts loads and unloads (answers kept for reuse name the generation they saw)."""

    # -- reading ---------------------------------------------------------------------------

    def find(self, name: str) -> ModuleSpec | None:
        """The running module ``name`` names (``res_ari`` or ``RES_ARI.so`` find ``res_ari.so``)."""
        if not name:
            return None
        return self.running.get(base_name(name))

    def use_count(self, spec: ModuleSpec) -> int:
        me = base_name(spec.name)
        return sum(1 for other in self.running.values() if me in other.requires)

    def info(self, spec: ModuleSpec) -> ModuleInfo:
        return ModuleInfo(
            name=spec.name,
            description=spec.description,
            use_count=self.use_count(spec),
            status="Running",
            support_level=spec.support_level,
        )

    def list(self) -> list[ModuleInfo]:
        """Running modules in alphabetical order (case-insensitive), as Asterisk lists them."""
        return [self.info(s) for s in sorted(self.running.values(), key=lambda s: s.name.lower())]

    def get(self, name: str) -> ModuleInfo:
        """``GET /asterisk/modules/{name}``: the name must be exactly the module's."""
        if self.find(name) is None:
            raise ModuleNotFound("Module could not be found in running modules")
        for info in self.list():
            if info.name == name:
                return info
        raise ModuleRefused("Module information could not be retrieved")

    def resource_enabled(self, resource: str) -> bool:
        """Whether the module serving ARI ``resource`` is loaded."""
        module = self._module_of.get(resource)
        return module is None or module in self.running

    # -- changing ----------------------------------------------------------------------------

    def load(self, name: str) -> None:
        if self.find(name) is not None:
            raise ModuleRefused("Module is already loaded")
        spec = self.specs.get(base_name(name)) if name else None
        if spec is None or any(dep not in self.running for dep in spec.requires):
            raise ModuleRefused("Module load declined")
        self.running[base_name(spec.name)] = spec
        self.generation += 1

    def unload(self, name: str) -> None:
        spec = self.find(name)
        if spec is None:
            raise ModuleNotFound("Module not found in running modules")
        if (
            self.use_count(spec) > 0
            or spec.resource is None
            or spec.resource in _NOT_UNLOADABLE_RESOURCES
        ):
            raise ModuleRefused("Module could not be unloaded")
        del self.running[base_name(spec.name)]
        self.generation += 1

    async def reload(self, name: str) -> None:
        spec = self.find(name)
        if spec is None:
            raise ModuleNotFound("Module not found in running modules")
        reloader = self.reloaders.get(base_name(spec.name))
        if reloader is None:
            raise ModuleRefused("Module does not support reloading")
        if self.reloading:
            raise ModuleRefused("Another reload is currently in progress")
        self.reloading = True
        try:
            ok = await reloader()
        finally:
            self.reloading = False
        if not ok:
            raise ModuleRefused("An unknown error occurred while reloading the module")
