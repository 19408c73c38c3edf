"""What the ACL APIs answer on a broker without an authorizer, as Kafka does.

The engine, like a Kafka broker with no `authorizer.class.name`, serves one PLAINTEXT
listener and checks no permissions, so there are no ACLs to describe, create or delete:
Kafka's AclApis answer SECURITY_DISABLED with these messages (checked against Kafka 4.1).
"""

from __future__ import annotations

from partita.engine.protocol.errors import ErrorCode

NO_AUTHORIZER = ErrorCode.security_disabled
DESCRIBE_MESSAGE = "No Authorizer is configured on the broker"
CHANGE_MESSAGE = "No Authorizer is configured."
