// Kafka Streams word count, run by tests/support/kafka_streams.py against the engine and Kafka.
// Arguments: bootstrap servers, input topic, output topic, application id, state directory, and
// optionally the processing guarantee (at_least_once when absent, exactly_once_v2).
// Prints "STATE <new state>" on each change of the Streams client's state; SIGTERM closes it
// and prints "CLOSED <state>" once close() has returned.
import java.time.Duration;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;

public class WordCount {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[3]);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
        props.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, 100);  // DeleteRecords soon after each commit
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);      // every count update goes out
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // static membership: a restarted app takes its old place in the group at once, where a dynamic
        // member would wait out the session of the one that closed (Streams does not leave on close)
        props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, args[3] + "-instance");
        String guarantee = args.length > 5 ? args[5] : StreamsConfig.AT_LEAST_ONCE;
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        if (!guarantee.equals(StreamsConfig.AT_LEAST_ONCE)) {
            // A killed app leaves its transaction open, holding back read_committed readers until the
            // coordinator aborts it: its successor cannot fence it, having another transactional.id
            // (with in-memory stores the process id is not kept). 3 s of timeout, not Streams' 10.
            props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 3000);
        }

        StreamsBuilder builder = new StreamsBuilder();
        builder.<String, String>stream(args[1])
            .flatMapValues(line -> Arrays.asList(line.toLowerCase().split("\\W+")))
            .groupBy((key, word) -> word)  // through the repartition topic
            // in memory: a restarted app restores its counts from the changelog topic
            .count(Materialized.as(Stores.inMemoryKeyValueStore("counts")))
            .toStream()
            .to(args[2], Produced.with(Serdes.String(), Serdes.Long()));

        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        CountDownLatch closed = new CountDownLatch(1);
        streams.setStateListener((now, before) -> System.out.println("STATE " + now));
        streams.setUncaughtExceptionHandler(error -> {
            error.printStackTrace();
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(20));
            // the listener may not get to print NOT_RUNNING before the JVM halts: say it here
            System.out.println("CLOSED " + streams.state());
            System.out.flush();
            closed.countDown();
        }));
        streams.start();
        closed.await();
    }
}
