pytest_plugins = ["tests.support.kafka_fixtures"]
