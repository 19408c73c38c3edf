"""The server side of the SASL mechanisms the engine serves: PLAIN and SCRAM-SHA-256/512. Sans-I/O.

Each server takes the client's tokens one at a time (`evaluate`) and returns its own, until
`complete`; a failed login raises AuthenticationFailed. Credentials come from a lookup
`(user, mechanism) -> stored credential or None`, the controller's SCRAM credentials as the
metadata image holds them (salt, iterations, StoredKey, ServerKey; engine/cluster/scram_credentials.py).

SCRAM follows RFC 5802 and RFC 7677 as Kafka's ScramSaslServer does: client-first
(`n,,n=user,r=nonce`, no channel binding), server-first (`r=nonce+server nonce,s=salt,i=iterations`),
client-final (`c=biws,r=...,p=proof`), server-final (`v=server signature`). An unknown user
fails at once on the client-first message, as in Kafka (no mock salt). The only extension
Kafka knows, tokenauth (delegation tokens), is refused: the engine has no delegation tokens.

PLAIN (RFC 4616) is checked against the same stored SCRAM credential, where Kafka reads a JAAS
config: the password is salted with the stored salt and iteration count and its StoredKey compared
with the stored one (hmac.compare_digest). So one store serves all three mechanisms, and users
added at runtime with AlterUserScramCredentials can log in with PLAIN as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping

SCRAM_MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}
MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS)
DEFAULT_ITERATIONS = 4096

Lookup = Callable[[str, int], Mapping | None]


class AuthenticationFailed(Exception):
    """A login refused. `client_message` is what the client is told; None means Kafka's generic
    message for a SaslException, which never says whether the user exists."""

    def __init__(self, detail: str, client_message: str | None = None):
        super().__init__(detail)
        self.client_message = client_message


def client_message(exc: AuthenticationFailed, mechanism: str) -> str:
    """The error message of the SaslAuthenticate response, as Kafka's SaslServerAuthenticator words it."""
    if exc.client_message is not None:
        return exc.client_message
    return f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"


def salted_password(password: str, salt: bytes, iterations: int, digest: str) -> bytes:
    """Hi(Normalize(password), salt, i) of RFC 5802: PBKDF2 with HMAC. (SASLprep is not applied,
    as in Kafka's ScramFormatter, which takes the password's UTF-8 bytes.)"""
    return hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)


def new_credential(mechanism: str, password: str, iterations: int = DEFAULT_ITERATIONS) -> tuple[bytes, bytes]:
    """(salt, salted password) for an AlterUserScramCredentials upsertion, as kafka-configs makes them."""
    salt = secrets.token_bytes(32)
    return salt, salted_password(password, salt, iterations, SCRAM_MECHANISMS[mechanism][1])


class PlainServer:
    mechanism = "PLAIN"

    def __init__(self, lookup: Lookup):
        self.lookup = lookup
        self.complete = False
        self.user: str | None = None

    def evaluate(self, token: bytes) -> bytes:
        parts = token.decode("utf-8", "replace").split("\x00")
        if len(parts) != 3:
            raise AuthenticationFailed("PLAIN token is not authzid NUL user NUL password",
                                       "Invalid SASL/PLAIN response: expected 3 tokens, got " + str(len(parts)))
        authzid, user, password = parts
        if not user:
            raise AuthenticationFailed("no user name", "Authentication failed: username not specified")
        if not password:
            raise AuthenticationFailed("no password", "Authentication failed: password not specified")
        if not self._password_matches(user, password):
            raise AuthenticationFailed(f"wrong password or unknown user {user!r}",
                                       "Authentication failed: Invalid username or password")
        if authzid and authzid != user:
            raise AuthenticationFailed(
                f"authorization id {authzid!r} is not {user!r}",
                "Authentication failed: Client requested an authorization id that is different from username")
        self.user, self.complete = user, True
        return b""

    def _password_matches(self, user: str, password: str) -> bool:
        for mechanism_id, digest in SCRAM_MECHANISMS.values():
            credential = self.lookup(user, mechanism_id)
            if credential is None:
                continue
            salted = salted_password(password, base64.b64decode(credential["salt"]), credential["iterations"], digest)
            client_key = hmac.new(salted, b"Client Key", digest).digest()
            return hmac.compare_digest(hashlib.new(digest, client_key).digest(),
                                       base64.b64decode(credential["stored_key"]))
        return False


def _attributes(message: str, what: str) -> list[tuple[str, str]]:
    out = []
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise AuthenticationFailed(f"invalid SCRAM {what} message")
        out.append((part[0], part[2:]))
    return out


def _sasl_name(name: str) -> str:
    """RFC 5802 saslname: ',' and '=' arrive as =2C and =3D; any other '=' is invalid."""
    decoded = name.replace("=2C", ",").replace("=3D", "=")
    if "=" in name.replace("=2C", "").replace("=3D", ""):
        raise AuthenticationFailed("invalid user name encoding in the SCRAM client first message")
    return decoded


class ScramServer:
    def __init__(self, mechanism: str, lookup: Lookup, nonce: Callable[[], str] | None = None):
        self.mechanism = mechanism
        self.mechanism_id, self.digest = SCRAM_MECHANISMS[mechanism]
        self.lookup = lookup
        self._nonce = nonce or (lambda: secrets.token_urlsafe(24))
        self.complete = False
        self.user: str | None = None
        self._state = self._client_first

    def evaluate(self, token: bytes) -> bytes:
        try:
            message = token.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AuthenticationFailed("SCRAM message is not UTF-8") from exc
        return self._state(message)

    def _client_first(self, message: str) -> bytes:
        # gs2-header: "n," (no channel binding) or "y," (client could but thinks we cannot), then authzid
        flag, sep, rest = message.partition(",")
        if not sep or flag not in ("n", "y"):
            raise AuthenticationFailed(f"unsupported or invalid channel binding flag {flag!r}")
        authzid, sep, bare = rest.partition(",")
        if not sep or (authzid and not authzid.startswith("a=")):
            raise AuthenticationFailed("invalid SCRAM client first message format")
        attrs = _attributes(bare, "client first")
        if len(attrs) < 2 or attrs[0][0] != "n" or attrs[1][0] != "r" or not attrs[1][1]:
            raise AuthenticationFailed("invalid SCRAM client first message format")
        user = _sasl_name(attrs[0][1])
        if any(key == "tokenauth" for key, _ in (part.split("=", 1) for part in bare.split(",")[2:] if "=" in part)):
            raise AuthenticationFailed(f"delegation token login for {user!r}: the engine has no delegation tokens")
        credential = self.lookup(user, self.mechanism_id)
        if credential is None:
            raise AuthenticationFailed(f"unknown user {user!r} (no {self.mechanism} credential)")
        if authzid and _sasl_name(authzid[2:]) != user:
            raise AuthenticationFailed(
                f"authorization id {authzid[2:]!r} is not {user!r}",
                "Authentication failed: Client requested an authorization id that is different from username")
        self.user = user
        self._credential = credential
        self._client_first_bare = bare
        self._full_nonce = attrs[1][1] + self._nonce()
        self._server_first = f"r={self._full_nonce},s={credential['salt']},i={credential['iterations']}"
        self._state = self._client_final
        return self._server_first.encode()

    def _client_final(self, message: str) -> bytes:
        without_proof, sep, proof = message.rpartition(",p=")
        if not sep:
            raise AuthenticationFailed("invalid SCRAM client final message format: no proof")
        attrs = dict(_attributes(without_proof, "client final"))
        # The very nonce the server sent (RFC 5802), as Kafka checks it since 3.8.1/3.9.1/4.0
        # (CVE-2024-56128). librdkafka before 2.6.1 (kcat 1.7 on Debian 12 has 2.0.2) repeats its own
        # nonce in front of it: its SCRAM logins fail here, as on Kafka 4.1.
        if attrs.get("r") != self._full_nonce:
            raise AuthenticationFailed("invalid client nonce in the final client message")
        try:
            client_proof = base64.b64decode(proof, validate=True)
        except ValueError as exc:
            raise AuthenticationFailed("invalid SCRAM client proof encoding") from exc
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        stored_key = base64.b64decode(self._credential["stored_key"])
        client_signature = hmac.new(stored_key, auth_message, self.digest).digest()
        if len(client_proof) != len(client_signature):
            raise AuthenticationFailed("invalid SCRAM client proof length")
        client_key = bytes(a ^ b for a, b in zip(client_proof, client_signature, strict=True))
        if not hmac.compare_digest(hashlib.new(self.digest, client_key).digest(), stored_key):
            raise AuthenticationFailed(f"invalid client proof for {self.user!r} (wrong password)")
        server_key = base64.b64decode(self._credential["server_key"])
        signature = base64.b64encode(hmac.new(server_key, auth_message, self.digest).digest()).decode()
        self.complete = True
        self._state = self._done
        self._credential = None
        return f"v={signature}".encode()

    def _done(self, message: str) -> bytes:
        raise AuthenticationFailed("unexpected SCRAM message after the exchange completed")


def server_for(mechanism: str, lookup: Lookup) -> PlainServer | ScramServer:
    if mechanism == "PLAIN":
        return PlainServer(lookup)
    return ScramServer(mechanism, lookup)
