"""/asterisk: system information, liveness, global variables, modules, log channels and
dynamic configuration objects."""

from __future__ import annotations

from typing import Protocol

from pyari.ari.args import (
    AsteriskAddLogArgs,
    AsteriskDeleteLogArgs,
    AsteriskDeleteObjectArgs,
    AsteriskGetGlobalVarArgs,
    AsteriskGetInfoArgs,
    AsteriskGetModuleArgs,
    AsteriskGetObjectArgs,
    AsteriskListLogChannelsArgs,
    AsteriskListModulesArgs,
    AsteriskLoadModuleArgs,
    AsteriskPingArgs,
    AsteriskReloadModuleArgs,
    AsteriskRotateLogArgs,
    AsteriskSetGlobalVarArgs,
    AsteriskUnloadModuleArgs,
    AsteriskUpdateObjectArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.encoding import JSON, encode
from pyari.ari.errors import AriError, as_ari_error, available
from pyari.ari.resources import Reply, handles
from pyari.core import events as ev
from pyari.core.logchannels import LogChannelError, LogChannelInfo
from pyari.core.mailboxes import FIELDS as MAILBOX_FIELDS
from pyari.core.mailboxes import Mailboxes, parse_uint
from pyari.core.modules import ModuleError, ModuleInfo
from pyari.wallclock import ari_timestamp

INFO_SECTIONS = ("build", "system", "config", "status")


_info_bodies: tuple[object, dict[tuple[tuple[str, ...], bool], bytes]] = (None, {})
"""Encoded answers for the info dict in force (it changes only with a reload)."""


@handles("asterisk", "getInfo")
async def get_info(ctx: AriContext, args: AsteriskGetInfoArgs) -> Reply:
    global _info_bodies
    info = ctx.info()
    only: tuple[str, ...] = tuple(args.only or INFO_SECTIONS)
    pretty = ctx.settings().pretty
    source, bodies = _info_bodies
    if source is not info:
        bodies = {}
        _info_bodies = (info, bodies)
    body = bodies.get((only, pretty))
    if body is None:
        body = encode({k: info[k] for k in INFO_SECTIONS if k in only and k in info}, pretty)
        if len(bodies) < 64:
            bodies[(only, pretty)] = body
    return Reply(200, body, {"Content-Type": JSON}, static=True)


@handles("asterisk", "ping")
async def ping(ctx: AriContext, args: AsteriskPingArgs) -> dict[str, str]:
    return {"ping": "pong", "timestamp": ari_timestamp(), "asterisk_id": ctx.core.entity_id}


VARIABLE_REQUIRED = {"variable": "Variable name is required"}


@handles("asterisk", "getGlobalVar", missing=VARIABLE_REQUIRED)
async def get_global_var(ctx: AriContext, args: AsteriskGetGlobalVarArgs) -> dict[str, str]:
    name = args.variable
    value = ctx.core.globals.get(name)
    if value is None:
        value = ctx.pbx.dialplan.globals.get(name, "")
    return {"value": value}


@handles("asterisk", "setGlobalVar", missing=VARIABLE_REQUIRED)
async def set_global_var(ctx: AriContext, args: AsteriskSetGlobalVarArgs) -> None:
    name = args.variable
    if not name.strip():
        raise AriError(400, "Variable name is required")
    value = args.value or ""
    ctx.core.globals[name] = value
    ctx.core.all_channels.publish(ev.ChannelVarset(variable=name, value=value))


# -- modules -------------------------------------------------------------------------------


@handles("asterisk", "listModules")
async def list_modules(ctx: AriContext, args: AsteriskListModulesArgs) -> list[ModuleInfo]:
    return available(ctx.modules).list()


@handles("asterisk", "getModule")
async def get_module(ctx: AriContext, args: AsteriskGetModuleArgs) -> ModuleInfo:
    with as_ari_error(ModuleError):
        return available(ctx.modules).get(args.moduleName)


@handles("asterisk", "loadModule")
async def load_module(ctx: AriContext, args: AsteriskLoadModuleArgs) -> None:
    with as_ari_error(ModuleError):
        available(ctx.modules).load(args.moduleName)


@handles("asterisk", "unloadModule")
async def unload_module(ctx: AriContext, args: AsteriskUnloadModuleArgs) -> None:
    with as_ari_error(ModuleError):
        available(ctx.modules).unload(args.moduleName)


@handles("asterisk", "reloadModule")
async def reload_module(ctx: AriContext, args: AsteriskReloadModuleArgs) -> None:
    with as_ari_error(ModuleError):
        await available(ctx.modules).reload(args.moduleName)


# -- log channels ------------------------------------------------------------------------


@handles("asterisk", "listLogChannels")
async def list_log_channels(
    ctx: AriContext, args: AsteriskListLogChannelsArgs
) -> list[LogChannelInfo]:
    return available(ctx.logchannels).list()


@handles("asterisk", "addLog", missing={"configuration": "Configuration levels are required"})
async def add_log(ctx: AriContext, args: AsteriskAddLogArgs) -> None:
    channels = available(ctx.logchannels)
    with as_ari_error(LogChannelError):
        channels.add(args.logChannelName, args.configuration)


@handles("asterisk", "deleteLog")
async def delete_log(ctx: AriContext, args: AsteriskDeleteLogArgs) -> None:
    with as_ari_error(LogChannelError):
        available(ctx.logchannels).remove(args.logChannelName)


@handles("asterisk", "rotateLog")
async def rotate_log(ctx: AriContext, args: AsteriskRotateLogArgs) -> None:
    with as_ari_error(LogChannelError):
        available(ctx.logchannels).rotate(args.logChannelName)


# -- dynamic configuration objects (sorcery) -------------------------------------------------
#
# A configuration class is the module owning a sorcery instance; pyari has one:
# ``res_mwi_external`` with object type ``mailboxes`` (fields msgs_new, msgs_old),
# the same objects as /mailboxes.


class _ObjectType(Protocol):
    def get(self, ctx: AriContext, oid: str) -> dict[str, str] | None: ...

    def save(self, ctx: AriContext, oid: str, fields: dict[str, str]) -> bool:
        """Store the object; False when these field values are not valid."""
        ...

    def delete(self, ctx: AriContext, oid: str) -> bool: ...

    def defaults(self) -> dict[str, str]: ...


class _MwiMailboxes:
    def _boxes(self, ctx: AriContext) -> Mailboxes:
        return available(ctx.mailboxes)

    def get(self, ctx: AriContext, oid: str) -> dict[str, str] | None:
        box = self._boxes(ctx).get(oid)
        return None if box is None else box.fields()

    def save(self, ctx: AriContext, oid: str, fields: dict[str, str]) -> bool:
        if set(fields) - set(MAILBOX_FIELDS):
            return False
        new = parse_uint(fields["msgs_new"])
        old = parse_uint(fields["msgs_old"])
        if new is None or old is None:
            return False
        self._boxes(ctx).update(oid, old, new)
        return True

    def delete(self, ctx: AriContext, oid: str) -> bool:
        return self._boxes(ctx).delete(oid)

    def defaults(self) -> dict[str, str]:
        return {"msgs_new": "0", "msgs_old": "0"}


CONFIG_CLASSES: dict[str, dict[str, _ObjectType]] = {
    "res_mwi_external": {"mailboxes": _MwiMailboxes()},
}


def _object_type(
    args: AsteriskGetObjectArgs | AsteriskUpdateObjectArgs | AsteriskDeleteObjectArgs,
) -> _ObjectType:
    config_class = args.configClass
    types = CONFIG_CLASSES.get(config_class)
    if types is None:
        raise AriError(404, f"configClass '{config_class}' not found")
    object_type = args.objectType
    kind = types.get(object_type)
    if kind is None:
        raise AriError(404, f"objectType '{object_type}' not found")
    return kind


def _tuples(fields: dict[str, str]) -> list[dict[str, str]]:
    return [{"attribute": k, "value": v} for k, v in fields.items()]


@handles("asterisk", "getObject")
async def get_object(ctx: AriContext, args: AsteriskGetObjectArgs) -> list[dict[str, str]]:
    kind = _object_type(args)
    oid = args.id
    fields = kind.get(ctx, oid)
    if fields is None:
        raise AriError(404, f"Object with id '{oid}' not found")
    return _tuples(fields)


@handles("asterisk", "updateObject", lenient=frozenset({"fields"}))
async def update_object(ctx: AriContext, args: AsteriskUpdateObjectArgs) -> list[dict[str, str]]:
    kind = _object_type(args)
    oid = args.id
    current = kind.get(ctx, oid)
    created = current is None
    fields = dict(kind.defaults() if current is None else current)
    given = args.fields
    if given is None and not created:
        raise AriError(400, f"Fields must be provided to update object '{oid}'")
    invalid = AriError(
        400,
        f"{'Creation' if created else 'Update'} of object '{oid}' failed field value validation",
    )
    if given is not None:
        if not isinstance(given, list):
            raise invalid
        for item in given:
            if not isinstance(item, dict):
                raise invalid
            attribute, value = item.get("attribute"), item.get("value")
            if not isinstance(attribute, str) or not isinstance(value, str):
                raise invalid
            fields[attribute] = value
    if not kind.save(ctx, oid, fields):
        raise invalid
    saved = kind.get(ctx, oid)
    return _tuples(saved if saved is not None else fields)


@handles("asterisk", "deleteObject")
async def delete_object(ctx: AriContext, args: AsteriskDeleteObjectArgs) -> None:
    kind = _object_type(args)
    oid = args.id
    if not kind.delete(ctx, oid):
        raise AriError(404, f"Object with id '{oid}' not found")
