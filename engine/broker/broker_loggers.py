"""Broker loggers (config resource type 8): this broker process's log levels, read and changed
at runtime, as `kafka-configs --entity-type broker-loggers` does with Kafka's log4j loggers.

The loggers are the process's Python loggers (`root`, `partita.engine.broker.connection`, …),
each reported at its effective level in Kafka's names. SET gives a logger a level (TRACE,
DEBUG, INFO, WARN, ERROR, FATAL); DELETE makes it inherit its parent's again, except for
the root logger, which keeps one; APPEND and SUBTRACT are refused. A change applies to this
broker only and lasts until it restarts, as in Kafka.
"""

from __future__ import annotations

import logging

from partita.engine.protocol.errors import ErrorCode

TRACE = 5  # below Python's DEBUG, as log4j's TRACE is below its DEBUG
LEVELS = {"TRACE": TRACE, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
          "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
_ASCENDING = sorted(LEVELS.items(), key=lambda kv: kv[1])
ROOT = "root"
SET, DELETE = 0, 1
logging.addLevelName(TRACE, "TRACE")


class BrokerLoggerError(Exception):
    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def wrong_broker(node_id: int, resource_name: str) -> str | None:
    """Why a broker-logger resource does not name this broker (each broker answers for its own)."""
    if resource_name == str(node_id):
        return None
    return f"Unexpected broker id, expected {node_id}, but received {resource_name}"


def level_name(level: int) -> str:
    """Kafka's name for a Python level: the highest of Kafka's levels at or below it."""
    names = [name for name, value in _ASCENDING if value <= level]
    return names[-1] if names else "TRACE"


def _logger(name: str) -> logging.Logger | None:
    if name == ROOT:
        return logging.getLogger()
    existing = logging.Logger.manager.loggerDict.get(name)
    return existing if isinstance(existing, logging.Logger) else None


def describe(names: set[str] | None = None) -> list[tuple[str, str]]:
    """(logger, effective level) for every logger of the process, or only those named."""
    everyone = [ROOT] + sorted(n for n, lg in logging.Logger.manager.loggerDict.items()
                               if isinstance(lg, logging.Logger))
    return [(name, level_name(_logger(name).getEffectiveLevel()))
            for name in everyone if names is None or name in names]


def change(ops: list[tuple[str, int, str | None]], validate_only: bool = False) -> None:
    """Apply (logger, op, level) changes all together, or raise BrokerLoggerError and change none."""
    planned = []
    for name, op, value in ops:
        logger = _logger(name)
        if op not in (SET, DELETE):
            raise BrokerLoggerError(ErrorCode.invalid_request, f"{'APPEND' if op == 2 else 'SUBTRACT'} operation "
                                                               "is not allowed for the BROKER_LOGGER resource")
        if logger is None:
            raise BrokerLoggerError(ErrorCode.invalid_config, f"Logger {name} does not exist!")
        if op == DELETE:
            if name == ROOT:
                raise BrokerLoggerError(ErrorCode.invalid_request,
                                        "Removing the log level of the root logger is not allowed")
            planned.append((logger, logging.NOTSET))
            continue
        level = LEVELS.get((value or "").upper())
        if level is None:
            raise BrokerLoggerError(ErrorCode.invalid_config,
                                    f"Cannot set the log level of {name} to {value} as it is not a supported "
                                    f"log level. Valid log levels are {', '.join(sorted(LEVELS))}")
        planned.append((logger, level))
    if not validate_only:
        for logger, level in planned:
            logger.setLevel(level)
