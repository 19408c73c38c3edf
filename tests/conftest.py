import pytest

pytest_plugins = ["tests.support.kafka_fixtures", "tests.support.engine_fixtures"]

_RETENTION_COLLECTED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(session, config, items):
    from tests.engine.groups.offsets_retention import TEST_NAME

    config.stash[_RETENTION_COLLECTED] = any(item.originalname == TEST_NAME for item in items)


@pytest.fixture(scope="session")
def offsets_retention(tmp_path_factory):
    """The offsets-retention scenario (a minute of waiting), running in a background thread."""
    from tests.engine.groups.offsets_retention import RetentionScenario

    scenario = RetentionScenario(tmp_path_factory.mktemp("offsets-retention"))
    scenario.start()
    yield scenario
    scenario.close()


@pytest.fixture(scope="session", autouse=True)
def _offsets_retention_starts_with_the_session(request):
    # When its test is collected, its minute of waiting passes while the other tests run.
    if request.config.stash.get(_RETENTION_COLLECTED, False):
        request.getfixturevalue("offsets_retention")


@pytest.fixture(scope="session", autouse=True)
def _console_data_in_a_temp_dir(tmp_path_factory):
    # Windows and builder processes under test keep their history and profiles here, never in
    # the user's own data directory (a test may point PARTITA_DATA_DIR elsewhere itself).
    import os

    old = os.environ.get("PARTITA_DATA_DIR")
    os.environ["PARTITA_DATA_DIR"] = str(tmp_path_factory.mktemp("console-data"))
    yield
    if old is None:
        os.environ.pop("PARTITA_DATA_DIR", None)
    else:
        os.environ["PARTITA_DATA_DIR"] = old
