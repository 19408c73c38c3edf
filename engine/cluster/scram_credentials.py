"""SCRAM credentials as Kafka's KRaft controller keeps them: validation, alteration, description.

A credential is stored as Kafka stores it (UserScramCredentialRecord): the salt, the
iteration count, StoredKey = H(HMAC(SaltedPassword, "Client Key")) and ServerKey =
HMAC(SaltedPassword, "Server Key") (RFC 5802) — never the salted password the client sent,
and never any of it in an answer: DescribeUserScramCredentials reports mechanisms and
iterations only. Checks, messages and their quirks follow Kafka 4.1's ScramControlManager
and ScramImage.describe (e.g. a user altered twice in one request fails as
DUPLICATE_RESOURCE only when the earlier alteration was valid; existence is checked
against the state before the request; an empty salted password fails as Kafka's HMAC
does, UNKNOWN_SERVER_ERROR without a message).

Pure functions over plain dicts: the controller owns the state and persists it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# ScramMechanism type -> (name, hash); Kafka's min and max iterations are the same for both.
MECHANISMS = {1: ("SCRAM-SHA-256", "sha256"), 2: ("SCRAM-SHA-512", "sha512")}
MIN_ITERATIONS, MAX_ITERATIONS = 4096, 16384

UNKNOWN_SERVER_ERROR, UNSUPPORTED_SASL_MECHANISM, RESOURCE_NOT_FOUND = -1, 33, 91
DUPLICATE_RESOURCE, UNACCEPTABLE_CREDENTIAL = 92, 93
_TWICE = "A user credential cannot be altered twice in the same request"

Credentials = dict[tuple[str, int], dict]  # (user, mechanism) -> stored credential


def stored_credential(mechanism: int, iterations: int, salt: bytes, salted_password: bytes) -> dict:
    digest = MECHANISMS[mechanism][1]
    client_key = hmac.new(salted_password, b"Client Key", digest).digest()
    return {
        "salt": base64.b64encode(salt).decode(),
        "stored_key": base64.b64encode(hashlib.new(digest, client_key).digest()).decode(),
        "server_key": base64.b64encode(hmac.new(salted_password, b"Server Key", digest).digest()).decode(),
        "iterations": iterations,
    }


def _check_name_and_mechanism(name: str, mechanism: int) -> tuple[int, str | None] | None:
    if not name:
        return UNACCEPTABLE_CREDENTIAL, "Username must not be empty"
    if mechanism not in MECHANISMS:
        return UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"
    return None


def alter(current: Credentials, deletions: list[tuple[str, int]],
          upsertions: list[tuple[str, int, int, bytes, bytes]]) -> tuple[dict, list[tuple[str, int, str | None]]]:
    """The changes to make ((user, mechanism) -> credential, or None to delete) and one result
    (user, error code, message) per user: deletions first, then upsertions, then failures."""
    to_delete: dict[str, tuple[str, int]] = {}
    to_upsert: dict[str, tuple[str, int, int, bytes, bytes]] = {}
    failed: dict[str, tuple[int, str | None]] = {}
    for name, mechanism in deletions:
        if name in failed:
            continue
        if to_delete.pop(name, None) is not None:
            failed[name] = (DUPLICATE_RESOURCE, _TWICE)
            continue
        problem = _check_name_and_mechanism(name, mechanism)
        if problem is None and (name, mechanism) not in current:
            problem = RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist"
        if problem is None:
            to_delete[name] = (name, mechanism)
        else:
            failed[name] = problem
    for upsertion in upsertions:
        name, mechanism, iterations, _salt, salted_password = upsertion
        if name in failed:
            continue
        if to_delete.pop(name, None) is not None or to_upsert.pop(name, None) is not None:
            failed[name] = (DUPLICATE_RESOURCE, _TWICE)
            continue
        problem = _check_name_and_mechanism(name, mechanism)
        if problem is None and iterations < MIN_ITERATIONS:
            problem = UNACCEPTABLE_CREDENTIAL, "Too few iterations"
        if problem is None and iterations > MAX_ITERATIONS:
            problem = UNACCEPTABLE_CREDENTIAL, "Too many iterations"
        if problem is None and not salted_password:
            problem = UNKNOWN_SERVER_ERROR, None  # Kafka's HMAC refuses an empty key
        if problem is None:
            to_upsert[name] = upsertion
        else:
            failed[name] = problem
    changes: dict = {key: None for key in to_delete.values()}
    for name, mechanism, iterations, salt, salted_password in to_upsert.values():
        changes[(name, mechanism)] = stored_credential(mechanism, iterations, salt, salted_password)
    results = [(name, 0, None) for name in (*to_delete, *to_upsert)]
    results += [(name, code, message) for name, (code, message) in failed.items()]
    return changes, results


def describe(current: Credentials, users: list[str] | None) -> list[tuple[str, int, str, list[tuple[int, int]]]]:
    """(user, error code, message, [(mechanism, iterations)]) for the named users, or every user when none are."""
    by_user: dict[str, list[tuple[int, int]]] = {}
    for (user, mechanism), credential in sorted(current.items()):
        by_user.setdefault(user, []).append((mechanism, credential["iterations"]))
    if not users:
        return [(user, 0, "", infos) for user, infos in by_user.items()]
    counts: dict[str, int] = {}
    for user in users:
        counts[user] = counts.get(user, 0) + 1
    out = []
    for user, count in counts.items():
        if count > 1:
            out.append((user, DUPLICATE_RESOURCE,
                        f"Cannot describe SCRAM credentials for the same user twice in a single request: {user}", []))
        elif user in by_user:
            out.append((user, 0, "", by_user[user]))
        else:
            out.append((user, RESOURCE_NOT_FOUND, f"Attempt to describe a user credential that does not exist: {user}",
                        []))
    return out
