"""ACL admin calls against a broker without an authorizer: the engine and real Kafka both refuse them alike."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)
from kafka.admin import (
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePatternFilter,
)
from kafka.admin import ResourceType as KResourceType
from kafka.errors import SecurityDisabledError

from tests.engine.helpers import admin

SECURITY_DISABLED = 54


def _error(future):
    with pytest.raises(KafkaException) as err:
        future.result(10)
    return err.value.args[0].code(), err.value.args[0].str()


def test_acl_calls_answer_security_disabled_without_an_authorizer(single_broker):
    a = admin(single_broker)
    binding = AclBinding(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", "*",
                         AclOperation.READ, AclPermissionType.ALLOW)
    any_acl = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                               AclOperation.ANY, AclPermissionType.ANY)

    # librdkafka drops DescribeAcls' top-level error and reports no ACLs (Kafka's own answer is
    # checked through kafka-python below)
    assert a.describe_acls(any_acl).result(10) == []
    created = a.create_acls([binding])
    assert _error(created[binding]) == (SECURITY_DISABLED, "No Authorizer is configured.")
    deleted = a.delete_acls([any_acl])
    assert _error(deleted[any_acl]) == (SECURITY_DISABLED, "No Authorizer is configured.")


def test_kafka_python_acl_listing_reports_security_disabled(single_broker):
    client = KafkaAdminClient(bootstrap_servers=single_broker.bootstrap)
    try:
        with pytest.raises(SecurityDisabledError, match="No Authorizer is configured on the broker"):
            client.describe_acls(ACLFilter(
                principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(KResourceType.ANY, None, ACLResourcePatternType.ANY)))
    finally:
        client.close()
