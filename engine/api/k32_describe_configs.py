"""DescribeConfigs (key 32), versions 1–4.

Topic resources (type 2) list every topic config with its effective value and where it
came from (topic override, broker setting, Kafka default); as in Kafka, a name that is not a
legal topic name answers INVALID_TOPIC_EXCEPTION with the reason, not UNKNOWN_TOPIC_OR_PARTITION.
Broker resources (type 4) list the broker settings, read-only where they cannot change at
runtime, with the broker's own id, rack, log dirs and listener; the replication throttles
(dynamic-only in Kafka) only while they are set; settings of names the broker does not know
(set at runtime, as Kafka allows for plugins) read-only and sensitive, without their values.
configuration_keys narrows the list; synonyms (v1+) show the fallback chain; documentation
is not provided.
Broker loggers (type 8, resource name = this broker's id) list the process's loggers at
their levels (engine/broker/broker_loggers.py).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.broker import broker_loggers
from partita.engine.cluster.configs import (
    BROKER_CONFIGS,
    DYNAMIC_BROKER_CONFIGS,
    LISTED_ONLY_WHEN_SET,
    TOPIC_CONFIGS,
    broker_keys_of,
    effective_topic_config,
    topic_name_problem,
)
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode
from partita.engine.security.sasl_mechanisms import MECHANISMS

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
# ConfigSource values
DYNAMIC_TOPIC, DYNAMIC_BROKER, DYNAMIC_DEFAULT_BROKER, STATIC_BROKER, DEFAULT, DYNAMIC_BROKER_LOGGER = 1, 2, 3, 4, 5, 6
_TYPES = {"bool": 1, "string": 2, "int": 3, "long": 5, "double": 6, "list": 7, "class": 8, "password": 9}
_SENSITIVE_KINDS = frozenset({"password", "unknown"})  # Kafka hides a value it cannot tell is harmless


@api(32, 1, 4)
async def handle_describe_configs(request, ctx):
    m = codec.response_module(32, ctx.api_version)
    results = []
    for res in request.resources:
        keys = set(res.configuration_keys) if res.configuration_keys else None
        error, message, entries = ErrorCode.none, None, []
        if res.resource_type == TOPIC:
            topic = ctx.broker.metadata.topics.get(res.resource_name)
            if (problem := topic_name_problem(res.resource_name)) is not None:
                error, message = ErrorCode.invalid_topic_exception, problem
            elif topic is None:
                error, message = ErrorCode.unknown_topic_or_partition, f"Topic {res.resource_name} does not exist"
            else:
                entries = _topic_entries(ctx, topic, keys, request.include_synonyms)
        elif res.resource_type == BROKER:
            entries, error, message = _broker_entries(ctx, res.resource_name, keys, request.include_synonyms)
        elif res.resource_type == BROKER_LOGGER:
            message = broker_loggers.wrong_broker(ctx.broker.node_id, res.resource_name)
            if message:
                error = ErrorCode.invalid_request
            else:
                entries = [(name, level, DYNAMIC_BROKER_LOGGER, False, "string", [])
                           for name, level in broker_loggers.describe(keys)]
        else:
            error, message = ErrorCode.invalid_request, f"Unsupported resource type {res.resource_type}"
        configs = tuple(
            codec.build(
                m.DescribeConfigsResourceResult,
                name=name, value=value, read_only=read_only, config_source=source,
                is_sensitive=kind in _SENSITIVE_KINDS,
                is_default=source == DEFAULT,
                synonyms=tuple(codec.build(m.DescribeConfigsSynonym, name=n, value=v, source=s) for n, v, s in syns),
                config_type=_TYPES.get(kind, 0), documentation=None,
            )
            for name, value, source, read_only, kind, syns in entries
        )
        results.append(codec.build(m.DescribeConfigsResult, error_code=error, error_message=message,
                                   resource_type=res.resource_type, resource_name=res.resource_name, configs=configs))
    return codec.build(m.DescribeConfigsResponse, throttle_time=timedelta(0), results=tuple(results))


def _broker_levels(ctx):
    static = ctx.broker.config.settings
    dynamic_default = ctx.broker.metadata.broker_configs.get(-1, {})
    return static, dynamic_default


def _topic_entries(ctx, topic, keys, synonyms):
    static, dynamic_default = _broker_levels(ctx)
    broker_level = {**static, **dynamic_default}
    out = []
    for name, definition in TOPIC_CONFIGS.items():
        if keys is not None and name not in keys:
            continue
        value, where = effective_topic_config(name, topic.configs, broker_level)
        if where == "topic":
            source = DYNAMIC_TOPIC
        elif where == "broker":
            giving = next(k for k in broker_keys_of(definition.broker_key) if k in broker_level)
            source = DYNAMIC_DEFAULT_BROKER if giving in dynamic_default else STATIC_BROKER
        else:
            source = DEFAULT
        syns = []
        if synonyms:
            if name in topic.configs:
                syns.append((name, topic.configs[name], DYNAMIC_TOPIC))
            # each broker synonym in precedence order (log.retention.ms, .minutes, .hours), each
            # at every level it is set at, Kafka's own default last where there is one
            for key in broker_keys_of(definition.broker_key) if definition.broker_key else ():
                if key in dynamic_default:
                    syns.append((key, dynamic_default[key], DYNAMIC_DEFAULT_BROKER))
                if key in static:
                    syns.append((key, static[key], STATIC_BROKER))
                default = BROKER_CONFIGS[key].default if key in BROKER_CONFIGS else definition.default
                if default is not None:
                    syns.append((key, default, DEFAULT))
        out.append((name, value, source, False, definition.kind, syns))
    return out


def _broker_entries(ctx, resource_name, keys, synonyms):
    image = ctx.broker.metadata
    static, dynamic_default = _broker_levels(ctx)
    if resource_name == "":
        node_id, info = None, None
    else:
        try:
            node_id = int(resource_name)
        except ValueError:
            return [], ErrorCode.invalid_request, f"Invalid broker id {resource_name!r}"
        info = image.brokers.get(node_id)
        if info is None:
            return [], ErrorCode.invalid_request, f"Broker {resource_name} does not exist"
    per_broker = image.broker_configs.get(node_id, {}) if node_id is not None else {}
    out = []
    for name, definition in BROKER_CONFIGS.items():
        if keys is not None and name not in keys:
            continue
        if name in per_broker:
            value, source = per_broker[name], DYNAMIC_BROKER
        elif name in dynamic_default:
            value, source = dynamic_default[name], DYNAMIC_DEFAULT_BROKER
        elif name in static:
            value, source = static[name], STATIC_BROKER
        elif name in LISTED_ONLY_WHEN_SET:
            continue
        else:
            value, source = definition.default, DEFAULT
        syns = [(name, value, source)] if synonyms else []
        read_only = name not in DYNAMIC_BROKER_CONFIGS  # Kafka's meaning: cannot be changed at runtime
        out.append((name, value, source, read_only, definition.kind, syns))
    # names the broker does not know, set at runtime (a plugin's settings): listed as Kafka lists
    # them, read-only and sensitive, so their values are not shown
    for level, source in ((per_broker, DYNAMIC_BROKER), (dynamic_default, DYNAMIC_DEFAULT_BROKER)):
        for name in level:
            if name not in BROKER_CONFIGS and (keys is None or name in keys) and not any(e[0] == name for e in out):
                out.append((name, None, source, True, "unknown", [(name, None, source)] if synonyms else []))
    if info is not None:
        # PLAINTEXT (clients, replication, the supervisor) and, with --sasl-users, SASL_PLAINTEXT
        names = ["PLAINTEXT", *(name for name, _port in info.listeners)]
        listener = ",".join(f"{name}://{info.host}:{info.port_of(name)}" for name in names)
        protocol_map = ",".join(f"{name}:{name}" for name in names)
        static_entries = [("broker.id", str(node_id)), ("node.id", str(node_id)), ("broker.rack", info.rack),
                          ("log.dirs", ",".join(info.log_dirs)), ("listeners", listener),
                          ("advertised.listeners", listener), ("inter.broker.listener.name", "PLAINTEXT"),
                          ("listener.security.protocol.map", protocol_map), ("process.roles", "broker")]
        if info.listeners:
            enabled = [m.strip() for m in static.get("sasl.enabled.mechanisms", ",".join(MECHANISMS)).split(",")]
            static_entries.append(("sasl.enabled.mechanisms", ",".join(m for m in enabled if m in MECHANISMS)))
        for name, value in static_entries:
            if keys is None or name in keys:
                out.append((name, value, STATIC_BROKER, True, "string", [(name, value, STATIC_BROKER)] if synonyms else []))
    return out, ErrorCode.none, None
