"""How to reach a cluster: what a connection profile holds, and the client configs made from it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
CLIENT_ID = "partita-console"


@dataclass(frozen=True)
class ConnectionSettings:
    """A connection profile. `password` and `ssl_key_password` are secrets: the profile store keeps
    them in the OS keyring and never writes them anywhere else."""

    name: str = ""
    bootstrap: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    username: str = ""
    password: str = field(default="", repr=False)
    ssl_ca: str = ""
    ssl_cert: str = ""
    ssl_key: str = ""
    ssl_key_password: str = field(default="", repr=False)
    zookeeper: str = ""
    local_cluster: str = ""  # name of a local engine cluster this profile drives, if any

    SECRET_FIELDS = ("password", "ssl_key_password")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def without_secrets(self) -> ConnectionSettings:
        return replace(self, password="", ssl_key_password="")

    def bootstrap_hosts(self) -> list[tuple[str, int]]:
        """Bootstrap servers as (host, port); raises ValueError with a readable reason."""
        out = []
        for item in self.bootstrap.split(","):
            item = item.strip()
            if not item:
                continue
            if "://" in item:
                item = item.split("://", 1)[1]
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"bootstrap server {item!r} is not HOST:PORT")
            out.append((host.strip("[]"), int(port)))
        if not out:
            raise ValueError("no bootstrap servers given")
        return out

    def validate(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"unknown security protocol {self.security_protocol!r}")
        if self.uses_sasl and self.sasl_mechanism not in SASL_MECHANISMS:
            raise ValueError(f"unsupported SASL mechanism {self.sasl_mechanism!r}")
        self.bootstrap_hosts()


# (field of ConnectionSettings, librdkafka property, kafka-python argument)
_SASL_KEYS = (
    ("sasl_mechanism", "sasl.mechanism", "sasl_mechanism"),
    ("username", "sasl.username", "sasl_plain_username"),
    ("password", "sasl.password", "sasl_plain_password"),
)
_TLS_KEYS = (
    ("ssl_ca", "ssl.ca.location", "ssl_cafile"),
    ("ssl_cert", "ssl.certificate.location", "ssl_certfile"),
    ("ssl_key", "ssl.key.location", "ssl_keyfile"),
    ("ssl_key_password", "ssl.key.password", "ssl_password"),
)


def _security(s: ConnectionSettings, library: int) -> dict:
    """SASL and TLS settings under the names of one client library (1 librdkafka, 2 kafka-python)."""
    conf: dict = {}
    if s.uses_sasl:
        for keys in _SASL_KEYS:
            conf[keys[library]] = getattr(s, keys[0])
    if s.uses_tls:
        for keys in _TLS_KEYS:
            value = getattr(s, keys[0])
            if value:
                conf[keys[library]] = value
    return conf


def confluent_config(s: ConnectionSettings, **extra) -> dict:
    """librdkafka configuration for AdminClient / Consumer."""
    conf: dict = {
        "bootstrap.servers": s.bootstrap,
        "security.protocol": s.security_protocol,
        "client.id": CLIENT_ID,
        # fail fast rather than retry forever: the poller owns retries and backoff
        "socket.connection.setup.timeout.ms": 5000,
        "reconnect.backoff.max.ms": 2000,
        # connection failures come back as errors and warnings in the snapshot; librdkafka's own
        # log lines (one per failed reconnect) would only flood the terminal
        "log_level": 2,
        **_security(s, 1),
    }
    conf.update(extra)
    return conf


def kafka_python_config(s: ConnectionSettings, **extra) -> dict:
    """kafka-python KafkaAdminClient keyword arguments."""
    conf: dict = {
        "bootstrap_servers": [f"{h}:{p}" for h, p in s.bootstrap_hosts()],
        "security_protocol": s.security_protocol,
        "client_id": CLIENT_ID,
        "request_timeout_ms": 10000,
        **_security(s, 2),
    }
    conf.update(extra)
    # finding a first broker waits 30 s by default: an unreachable cluster would hold up the
    # thread that asked (the console's task thread) that long
    conf.setdefault("bootstrap_timeout_ms", conf["request_timeout_ms"])
    return conf
