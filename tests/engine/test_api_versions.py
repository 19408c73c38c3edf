"""ApiVersions against Kafka 4.1.1: every version the engine advertises is one Kafka advertises
too, so a client never picks a version against the engine that no Kafka would have offered it."""

from __future__ import annotations

import pytest
from kio.schema.api_versions.v4.request import ApiVersionsRequest

from tests.engine.helpers import raw_request


def _advertised(bootstrap: str) -> dict[int, tuple[int, int]]:
    request = ApiVersionsRequest(client_software_name="partita-tests", client_software_version="1")
    response = raw_request(bootstrap.split(",")[0], 18, 4, request)
    assert response.error_code == 0
    return {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}


@pytest.mark.kafka
def test_the_engine_advertises_only_versions_kafka_advertises(engine, apache_kafka):
    ours, kafkas = _advertised(engine.bootstrap), _advertised(apache_kafka.bootstrap)
    beyond = {key: (versions, kafkas.get(key)) for key, versions in ours.items()
              if key not in kafkas or versions[0] < kafkas[key][0] or versions[1] > kafkas[key][1]}
    assert beyond == {}
    assert ours[18] == kafkas[18] == (0, 4)
