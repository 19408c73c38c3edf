"""'Test connection': walks DNS → TCP → TLS → Kafka handshake/authentication and says which step
failed and why, in words an operator can act on."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass

from .settings import ConnectionSettings, confluent_config

DNS, REFUSED, UNREACHABLE, TIMEOUT, TLS, AUTHENTICATION, KAFKA, CONFIG, OK = (
    "DNS",
    "refused",
    "unreachable",
    "timeout",
    "TLS",
    "authentication",
    "Kafka",
    "configuration",
    "ok",
)


@dataclass(frozen=True)
class TestResult:
    ok: bool
    stage: str  # one of the constants above
    message: str
    detail: str = ""

    __test__ = False  # not a pytest class


def test_connection(settings: ConnectionSettings, timeout: float = 5.0) -> TestResult:
    try:
        settings.validate()
        hosts = settings.bootstrap_hosts()
    except ValueError as e:
        return TestResult(False, CONFIG, str(e))

    last: TestResult | None = None
    reachable = None
    for host, port in hosts:
        r = _probe(host, port, settings, timeout)
        if r is None:
            reachable = (host, port)
            break
        last = r
    if reachable is None:
        assert last is not None
        return last
    return _kafka_handshake(settings, timeout)


def _probe(host: str, port: int, settings: ConnectionSettings, timeout: float) -> TestResult | None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return TestResult(False, DNS, f"DNS: cannot resolve host {host!r}", e.strerror or str(e))
    addr = infos[0][4]
    try:
        sock = socket.create_connection((addr[0], port), timeout=timeout)
    except ConnectionRefusedError:
        return TestResult(False, REFUSED, f"Connection refused by {host}:{port}: nothing listens there")
    except TimeoutError:
        return TestResult(False, TIMEOUT, f"Timeout: no answer from {host}:{port} within {timeout:g} s (firewall?)")
    except OSError as e:
        return TestResult(False, UNREACHABLE, f"Cannot reach {host}:{port}: {e.strerror or e}")
    try:
        if settings.uses_tls:
            ctx = ssl.create_default_context(cafile=settings.ssl_ca or None)
            if settings.ssl_cert:
                try:
                    ctx.load_cert_chain(
                        settings.ssl_cert, settings.ssl_key or None, password=settings.ssl_key_password or None
                    )
                except (OSError, ssl.SSLError) as e:
                    return TestResult(False, TLS, "TLS: cannot load the client certificate or key", str(e))
            try:
                with ctx.wrap_socket(sock, server_hostname=host) as tls:
                    tls.settimeout(timeout)
            except ssl.SSLCertVerificationError as e:
                return TestResult(
                    False, TLS, f"TLS: the server certificate of {host}:{port} was not accepted", e.verify_message or str(e)
                )
            except ssl.SSLError as e:
                return TestResult(False, TLS, f"TLS handshake with {host}:{port} failed", e.reason or str(e))
            except TimeoutError:
                return TestResult(False, TIMEOUT, f"Timeout during the TLS handshake with {host}:{port}")
            except OSError as e:
                return TestResult(
                    False, TLS, f"TLS handshake with {host}:{port} failed (does it speak TLS?)", str(e)
                )
    finally:
        sock.close()
    return None


# how long the first Metadata attempt may wait before the errors librdkafka reported meanwhile are
# read; each further attempt waits twice as long, up to _MAX_SLICE_S (a slow link still gets answers)
_SLICE_S = 0.25
_MAX_SLICE_S = 2.0


def _new_admin(config: dict):
    """The connection test's client (the tests hand in one whose broker refuses the password)."""
    from confluent_kafka.admin import AdminClient

    return AdminClient(config)


def _kafka_handshake(settings: ConnectionSettings, timeout: float) -> TestResult:
    from confluent_kafka import KafkaError, KafkaException

    errors: list[KafkaError] = []
    lock = threading.Lock()

    def on_error(err: KafkaError) -> None:
        with lock:
            errors.append(err)

    admin = _new_admin(confluent_config(settings, error_cb=on_error))
    t0 = time.monotonic()
    deadline = t0 + timeout
    # Metadata, answered by any broker (DescribeCluster through librdkafka waits for the controller).
    # Asked in growing slices: a rejected password or a failed TLS handshake reaches us only through
    # error_cb, which librdkafka calls from poll(), and the broker stays "down" after it, so one long
    # list_topics would end in a timeout that hides the real cause.
    slice_s = _SLICE_S
    while True:
        started = time.monotonic()
        err = None
        fallback = ""
        try:
            md = admin.list_topics(timeout=max(0.01, min(slice_s, deadline - started)))
            break
        except KafkaException as e:
            err = e.args[0] if e.args else None
        except Exception as e:
            fallback = str(e)
        admin.poll(0)
        with lock:
            seen = list(errors)
        now = time.monotonic()
        if now >= deadline or fallback or any(_is_auth(e) or _is_tls(e) for e in seen):
            return _classify(err, seen, timeout, now - t0, fallback)
        if now - started < _SLICE_S:  # failed at once (all brokers down): do not spin
            time.sleep(min(_SLICE_S - (now - started), max(0.0, deadline - now)))
        slice_s = min(2 * slice_s, _MAX_SLICE_S)
    admin.poll(0)
    nodes = len(md.brokers)
    return TestResult(True, OK, f"Connected: cluster {md.cluster_id}, {nodes} broker{'s' * (nodes != 1)}")


def _auth_codes() -> set[int]:
    from confluent_kafka import KafkaError

    return {
        KafkaError._AUTHENTICATION,
        KafkaError.SASL_AUTHENTICATION_FAILED,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.UNSUPPORTED_SASL_MECHANISM,
        KafkaError.ILLEGAL_SASL_STATE,
    }


def _is_auth(e) -> bool:
    return e is not None and (e.code() in _auth_codes() or "SASL" in e.str() or "uthenticat" in e.str())


def _is_tls(e) -> bool:
    from confluent_kafka import KafkaError

    return e is not None and (e.code() == KafkaError._SSL or "SSL" in e.str())


_OFFERED = "broker's supported mechanisms:"


def _auth_result(e) -> TestResult:
    text = e.str()
    if _OFFERED in text:
        # librdkafka: "SASL <mech> mechanism handshake failed: <why>: broker's supported mechanisms: <list>"
        offered = text.split(_OFFERED, 1)[1].split("(after", 1)[0].strip().strip(",").strip()
        if not offered:
            return TestResult(
                False,
                AUTHENTICATION,
                "Authentication failed: this listener does not accept SASL "
                "(check the security protocol: it may be a PLAINTEXT or SSL listener)",
                text,
            )
        return TestResult(
            False,
            AUTHENTICATION,
            f"Authentication failed: the broker does not offer this SASL mechanism; it offers {offered}",
            text,
        )
    return TestResult(False, AUTHENTICATION, "Authentication failed: check the mechanism, user and password", text)


def _classify(err, errors, timeout: float, elapsed: float, fallback: str = "") -> TestResult:
    from confluent_kafka import KafkaError

    every = ([err] if err is not None else []) + list(errors)
    texts = "; ".join(e.str() for e in every if e is not None)
    for e in every:
        if _is_auth(e):
            return _auth_result(e)
    for e in every:
        if _is_tls(e):
            return TestResult(False, TLS, "TLS failed during the Kafka handshake", e.str())
    if any(e.code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN) for e in every) or (
        elapsed >= timeout
    ):
        hint = texts or f"no Kafka answer within {timeout:g} s"
        return TestResult(
            False,
            TIMEOUT,
            f"Timeout: the port answers but no Kafka response came within {timeout:g} s "
            "(wrong security protocol, or not a Kafka listener?)",
            hint,
        )
    return TestResult(False, KAFKA, "Kafka refused the request", texts or fallback)
