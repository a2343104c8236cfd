"""ARI ``asterisk`` resource: server information, modules, logging and global variables."""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Model, Operation, Param, Prop, Resource

_R = "asterisk"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="getObject",
        method="GET",
        path="/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
        response="List[ConfigTuple]",
        summary="Read a dynamic configuration object.",
        params=(
            Param(
                "configClass",
                where="path",
                required=True,
                doc="Configuration class, e.g. res_pjsip.",
            ),
            Param(
                "objectType",
                where="path",
                required=True,
                doc="Object type within the class, e.g. endpoint.",
            ),
            Param("id", where="path", required=True, doc="Object id."),
        ),
        errors=(ErrorResponse(404, "{configClass|objectType|id} not found"),),
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="updateObject",
        method="PUT",
        path="/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
        response="List[ConfigTuple]",
        summary="Create a dynamic configuration object or change its fields.",
        params=(
            Param(
                "configClass",
                where="path",
                required=True,
                doc="Configuration class, e.g. res_pjsip.",
            ),
            Param(
                "objectType",
                where="path",
                required=True,
                doc="Object type within the class, e.g. endpoint.",
            ),
            Param("id", where="path", required=True, doc="Object id."),
            Param(
                "fields",
                type="containers",
                where="body",
                doc="List of ConfigTuple attribute/value pairs to set.",
            ),
        ),
        errors=(
            ErrorResponse(400, "Bad request body"),
            ErrorResponse(403, "Could not create or update object"),
            ErrorResponse(404, "{configClass|objectType} not found"),
        ),
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="deleteObject",
        method="DELETE",
        path="/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
        summary="Remove a dynamic configuration object.",
        params=(
            Param(
                "configClass",
                where="path",
                required=True,
                doc="Configuration class, e.g. res_pjsip.",
            ),
            Param(
                "objectType",
                where="path",
                required=True,
                doc="Object type within the class, e.g. endpoint.",
            ),
            Param("id", where="path", required=True, doc="Object id."),
        ),
        errors=(
            ErrorResponse(403, "Could not delete object"),
            ErrorResponse(404, "{configClass|objectType|id} not found"),
        ),
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="getInfo",
        method="GET",
        path="/asterisk/info",
        response="AsteriskInfo",
        summary="Describe the server: build, system, config and status.",
        params=(
            Param(
                "only",
                multiple=True,
                values=(
                    "build",
                    "system",
                    "config",
                    "status",
                ),
                doc="Sections to include: build, system, config, status.",
            ),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="ping",
        method="GET",
        path="/asterisk/ping",
        response="AsteriskPing",
        summary="Check that the server answers.",
        since=(
            "13.25.0",
            "16.2.0",
        ),
    ),
    Operation(
        resource=_R,
        nickname="listModules",
        method="GET",
        path="/asterisk/modules",
        response="List[Module]",
        summary="List the loaded modules.",
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="getModule",
        method="GET",
        path="/asterisk/modules/{moduleName}",
        response="Module",
        summary="Describe one module.",
        params=(
            Param("moduleName", where="path", required=True, doc="Module name, e.g. res_pjsip.so."),
        ),
        errors=(
            ErrorResponse(404, "Module could not be found in running modules."),
            ErrorResponse(409, "Module information could not be retrieved."),
        ),
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="loadModule",
        method="POST",
        path="/asterisk/modules/{moduleName}",
        summary="Load a module.",
        params=(
            Param("moduleName", where="path", required=True, doc="Module name, e.g. res_pjsip.so."),
        ),
        errors=(ErrorResponse(409, "Module could not be loaded."),),
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="unloadModule",
        method="DELETE",
        path="/asterisk/modules/{moduleName}",
        summary="Unload a module.",
        params=(
            Param("moduleName", where="path", required=True, doc="Module name, e.g. res_pjsip.so."),
        ),
        errors=(
            ErrorResponse(404, "Module not found in running modules."),
            ErrorResponse(409, "Module could not be unloaded."),
        ),
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="reloadModule",
        method="PUT",
        path="/asterisk/modules/{moduleName}",
        summary="Reload a module.",
        params=(
            Param("moduleName", where="path", required=True, doc="Module name, e.g. res_pjsip.so."),
        ),
        errors=(
            ErrorResponse(404, "Module not found in running modules."),
            ErrorResponse(409, "Module could not be reloaded."),
        ),
        since=("13.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="listLogChannels",
        method="GET",
        path="/asterisk/logging",
        response="List[LogChannel]",
        summary="List the log channels.",
        since=("13.6.0",),
    ),
    Operation(
        resource=_R,
        nickname="addLog",
        method="POST",
        path="/asterisk/logging/{logChannelName}",
        summary="Add a log channel.",
        params=(
            Param("logChannelName", where="path", required=True, doc="Log channel name."),
            Param(
                "configuration",
                required=True,
                doc="Levels logged on the channel, e.g. notice,warning.",
            ),
        ),
        errors=(
            ErrorResponse(400, "Bad request body"),
            ErrorResponse(409, "Log channel could not be created."),
        ),
        since=("13.6.0",),
    ),
    Operation(
        resource=_R,
        nickname="deleteLog",
        method="DELETE",
        path="/asterisk/logging/{logChannelName}",
        summary="Remove a log channel.",
        params=(Param("logChannelName", where="path", required=True, doc="Log channel name."),),
        errors=(ErrorResponse(404, "Log channel does not exist."),),
        since=("13.6.0",),
    ),
    Operation(
        resource=_R,
        nickname="rotateLog",
        method="PUT",
        path="/asterisk/logging/{logChannelName}/rotate",
        summary="Rotate a log channel's file.",
        params=(Param("logChannelName", where="path", required=True, doc="Log channel name."),),
        errors=(ErrorResponse(404, "Log channel does not exist."),),
        since=("13.6.0",),
    ),
    Operation(
        resource=_R,
        nickname="getGlobalVar",
        method="GET",
        path="/asterisk/variable",
        response="Variable",
        summary="Read a global variable or function.",
        params=(Param("variable", required=True, doc="Name of the global variable or function."),),
        errors=(ErrorResponse(400, "Missing variable parameter."),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="setGlobalVar",
        method="POST",
        path="/asterisk/variable",
        summary="Write a global variable or function.",
        params=(
            Param("variable", required=True, doc="Name of the global variable or function."),
            Param("value", doc="Value to write."),
        ),
        errors=(ErrorResponse(400, "Missing variable parameter."),),
        since=("12.0.0",),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="BuildInfo",
        doc="How the server was built",
        props=(
            Prop("os", "string", required=True, doc="Operating system."),
            Prop("kernel", "string", required=True, doc="Kernel version."),
            Prop("options", "string", required=True, doc="Compile options."),
            Prop("machine", "string", required=True, doc="Machine architecture."),
            Prop("date", "string", required=True, doc="Build date."),
            Prop("user", "string", required=True, doc="User who built it."),
        ),
    ),
    Model(
        id="SystemInfo",
        doc="Version and identity of the server",
        props=(
            Prop("version", "string", required=True, doc="Server version."),
            Prop("entity_id", "string", required=True, doc="Entity id (usually a MAC address)."),
        ),
    ),
    Model(
        id="SetId",
        doc="User and group the server runs as",
        props=(
            Prop("user", "string", required=True, doc="User the server runs as."),
            Prop("group", "string", required=True, doc="Group the server runs as."),
        ),
    ),
    Model(
        id="ConfigInfo",
        doc="Main settings of the server",
        props=(
            Prop("name", "string", required=True, doc="Server name."),
            Prop("default_language", "string", required=True, doc="Default language of media."),
            Prop("max_channels", "int", doc="Channel limit, if any."),
            Prop("max_open_files", "int", doc="Open file limit, if any."),
            Prop("max_load", "double", doc="Load limit, if any."),
            Prop("setid", "SetId", required=True, doc="User and group the server runs as."),
        ),
    ),
    Model(
        id="StatusInfo",
        doc="Start and reload times",
        props=(
            Prop("startup_time", "Date", required=True, doc="When the server started."),
            Prop(
                "last_reload_time",
                "Date",
                required=True,
                doc="When configuration was last reloaded.",
            ),
        ),
    ),
    Model(
        id="AsteriskInfo",
        doc="Information about the server",
        props=(
            Prop("build", "BuildInfo", doc="Build details."),
            Prop("system", "SystemInfo", doc="System details."),
            Prop("config", "ConfigInfo", doc="Settings."),
            Prop("status", "StatusInfo", doc="Status."),
        ),
    ),
    Model(
        id="AsteriskPing",
        doc="Answer to a ping",
        props=(
            Prop(
                "asterisk_id", "string", required=True, doc="Id of the server that produced this."
            ),
            Prop("ping", "string", required=True, doc="Always pong."),
            Prop("timestamp", "string", required=True, doc="When this was produced."),
        ),
    ),
    Model(
        id="Module",
        doc="A loadable module",
        props=(
            Prop("name", "string", required=True, doc="Module name."),
            Prop("description", "string", required=True, doc="What the module does."),
            Prop("use_count", "int", required=True, doc="How many users hold the module."),
            Prop("status", "string", required=True, doc="Whether it is running."),
            Prop("support_level", "string", required=True, doc="Support level."),
        ),
    ),
    Model(
        id="LogChannel",
        doc="A logger output",
        props=(
            Prop("channel", "string", required=True, doc="Log channel name."),
            Prop("type", "string", required=True, doc="Kind of log channel."),
            Prop("status", "string", required=True, doc="Whether it is enabled."),
            Prop("configuration", "string", required=True, doc="Levels logged."),
        ),
    ),
    Model(
        id="Variable",
        doc="The value of a variable",
        props=(Prop("value", "string", required=True, doc="Value."),),
    ),
    Model(
        id="Variables",
        doc="Several variables with their values",
        props=(Prop("variables", "object", required=True, doc="Variables with their values."),),
    ),
    Model(
        id="ConfigTuple",
        doc="An attribute of a configuration object and its value",
        props=(
            Prop("attribute", "string", required=True, doc="Attribute name."),
            Prop("value", "string", required=True, doc="Value."),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Server information, modules, logging and global variables",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/asterisk/config/dynamic/{configClass}/{objectType}/{id}": "Dynamic config object",
        "/asterisk/info": "Server information",
        "/asterisk/ping": "Liveness check",
        "/asterisk/modules": "Loaded modules",
        "/asterisk/modules/{moduleName}": "One module",
        "/asterisk/logging": "Log channels",
        "/asterisk/logging/{logChannelName}": "One log channel",
        "/asterisk/logging/{logChannelName}/rotate": "Rotation of a log channel",
        "/asterisk/variable": "Global variables",
    },
    since=("12.0.0",),
)
