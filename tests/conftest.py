pytest_plugins = ["tests.support.kafka_fixtures", "tests.support.engine_fixtures"]
