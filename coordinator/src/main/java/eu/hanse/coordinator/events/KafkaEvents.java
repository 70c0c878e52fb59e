package eu.hanse.coordinator.events;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes federation events to Kafka as JSON ({@link FederationEvent#SCHEMA}): a job's events to
 * {@code PREFIX.jobs} keyed by the job, so that each job's events stay in order in one partition;
 * the rest (sites enrolled, online, offline, revoked) to {@code PREFIX.sites} keyed by the site.
 *
 * <p>The producer is idempotent (acks=all, retries without end, no duplicates or reordering on
 * retry). Events wait in a queue of their own, in order, and one thread hands them to the producer;
 * while the broker is unreachable they wait there (and in the producer, which retries for a day),
 * and the coordinator goes on: {@link #publish} never blocks. Only a queue of
 * {@value #QUEUE_LIMIT} events waiting at once overflows, and then each dropped event is logged.
 */
public final class KafkaEvents implements FederationEvents {
  private static final Logger log = LoggerFactory.getLogger(KafkaEvents.class);
  static final int QUEUE_LIMIT = 100_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String jobsTopic;
  private final String sitesTopic;
  private final KafkaProducer<String, byte[]> producer;
  private final LinkedBlockingDeque<FederationEvent> queue = new LinkedBlockingDeque<>(QUEUE_LIMIT);
  private final Thread sender;
  private volatile boolean closing;

  /**
   * @param bootstrap the brokers, HOST:PORT[,HOST:PORT...]
   * @param topicPrefix the topics' common prefix, e.g. "hanse"
   * @param properties more producer settings (security, say), as Kafka names them; they win over these defaults
   */
  public KafkaEvents(String bootstrap, String topicPrefix, Map<String, String> properties) {
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalArgumentException("kafka.bootstrap is empty; give HOST:PORT of a broker");
    }
    this.jobsTopic = topicPrefix + ".jobs";
    this.sitesTopic = topicPrefix + ".sites";
    Properties config = new Properties();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    config.put(ProducerConfig.CLIENT_ID_CONFIG, "hanse-coordinator");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.RETRIES_CONFIG, Integer.toString(Integer.MAX_VALUE));
    config.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Long.toString(TimeUnit.DAYS.toMillis(1)));
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
    config.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    config.putAll(properties);
    this.producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer());
    this.sender = Thread.ofPlatform().daemon().name("kafka-events").start(this::sendAll);
    log.info("publishing federation events to Kafka at {}: topics {} and {}", bootstrap, jobsTopic, sitesTopic);
  }

  @Override
  public void publish(FederationEvent event) {
    if (!queue.offerLast(event)) {
      log.error("Kafka event queue full ({} events waiting; is the broker down?): dropped {} {}", QUEUE_LIMIT,
          event.type(), event.fields());
    }
  }

  /** Hands the events to the producer in order; one the producer cannot take yet is tried again. */
  private void sendAll() {
    while (!closing || !queue.isEmpty()) {
      FederationEvent event;
      try {
        event = queue.pollFirst(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (event == null) {
        continue;
      }
      while (true) {
        try {
          producer.send(record(event), (metadata, error) -> {
            if (error != null) {
              log.error("Kafka did not take event {} {}: {}", event.type(), event.fields(), error.toString());
            }
          });
          break;
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
          // No metadata yet: the broker is unreachable. The event waits, and the ones behind it.
          log.warn("Kafka unreachable ({}); {} events wait", e.getMessage(), queue.size() + 1);
          if (closing) {
            return;
          }
        } catch (RuntimeException e) {
          log.error("cannot publish event {} {}", event.type(), event.fields(), e);
          break;
        }
      }
    }
  }

  ProducerRecord<String, byte[]> record(FederationEvent event) {
    byte[] value;
    try {
      value = JSON.writeValueAsBytes(event.asJson());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("event " + event.type() + " does not make JSON: " + e.getMessage(), e);
    }
    if (event.job() != null) {
      return new ProducerRecord<>(jobsTopic, event.job(), value);
    }
    String key = event.site() != null ? event.site() : "consortium";
    return new ProducerRecord<>(sitesTopic, key, value);
  }

  /** Sends what is queued, waiting up to ten seconds for the broker, then closes the producer. */
  @Override
  public void close() {
    closing = true;
    try {
      sender.join(Duration.ofSeconds(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!queue.isEmpty()) {
      log.warn("{} federation events were not handed to Kafka before the coordinator stopped", queue.size());
    }
    producer.close(Duration.ofSeconds(10));
  }
}
