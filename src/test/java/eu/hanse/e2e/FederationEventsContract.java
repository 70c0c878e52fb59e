package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.Coordinator;
import eu.hanse.coordinator.events.FederationEvent;
import eu.hanse.coordinator.events.KafkaEvents;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.launcher.CharModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every Kafka broker Hanse's tests run against must show: a coordinator with two real agents
 * runs a job of two rounds and publishes every federation event; an ordinary Kafka consumer reads
 * them back from the topics, and finds each job's events in one partition, in the order they
 * happened, with the content the job's status has. The broker starts when {@link #brokerUp()}
 * says: a broker that comes up only after round 1 committed must lose nothing of it.
 */
abstract class FederationEventsContract {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> SITES = List.of("jupiter", "leonardo");
  private static final String PREFIX = "hanse-test";

  @TempDir Path dir;

  /** The brokers' bootstrap address. */
  abstract String bootstrap();

  /** Called once round 1 has committed; a broker not up yet starts now. */
  abstract void brokerUp() throws Exception;

  @Test
  void everyEventOfTheFederationArrivesInOrderWithItsContent() throws Exception {
    ByteArrayOutputStream progress = new ByteArrayOutputStream();
    JobStatus status;
    try (KafkaEvents events = new KafkaEvents(bootstrap(), PREFIX, Map.of());
        TestFederation federation = new TestFederation(dir, new PrintStream(progress, true));
        Coordinator coordinator = federation.startCoordinator(new CharModels(), events)) {
      coordinator.submit(coordinator.jobFiles().parse("events.yaml",
          TestFederation.twoSiteJob("events", 2).getBytes(StandardCharsets.UTF_8)), "test");
      federation.enrolAndStartAgents(coordinator, SITES, Map.of());
      TestFederation.awaitStatus(coordinator, "events", s -> s.roundsCompleted() >= 1, "round 1");
      brokerUp();
      assertTrue(coordinator.awaitJob(Duration.ofMinutes(3)), "the job did not finish: " + progress);
      status = coordinator.status("events").orElseThrow();
      assertEquals(JobStatus.FINISHED, status.state(), progress.toString());
    }

    List<ConsumerRecord<String, String>> jobRecords = read(PREFIX + ".jobs", "job.finished");
    assertEquals(1, jobRecords.stream().map(ConsumerRecord::partition).distinct().count(),
        "one job's events share a partition");
    assertTrue(jobRecords.stream().allMatch(r -> r.key().equals("events")), "keyed by the job");
    List<JsonNode> job = parse(jobRecords);
    assertTrue(job.stream().allMatch(e -> e.get("schema").asText().equals(FederationEvent.SCHEMA)
        && e.get("job").asText().equals("events") && !e.get("time").asText().isEmpty()), "every event names its schema");
    List<String> order = new ArrayList<>(List.of("job.submitted"));
    for (int round = 1; round <= 2; round++) {
      order.addAll(List.of("round.opened " + round, "update.accepted " + round, "update.accepted " + round,
          "checkpoint.committed " + round, "round.committed " + round));
    }
    order.add("job.finished");
    List<String> seen = job.stream().map(e -> e.get("type").asText() + (e.has("round") ? " " + e.get("round").asLong() : ""))
        .filter(order::contains).toList();
    assertEquals(order, seen, "the job's events, in the order they happened");

    for (int round = 1; round <= 2; round++) {
      int r = round;
      JsonNode committed = job.stream().filter(e -> e.get("type").asText().equals("round.committed")
          && e.get("round").asLong() == r).findFirst().orElseThrow();
      assertEquals(status.rounds().get(round - 1).checkpoint(), committed.get("checkpoint").asText());
      assertEquals(SITES, JSON.convertValue(committed.get("acceptedSites"), List.class));
      assertEquals(status.rounds().get(round - 1).heldOutLoss(), committed.get("heldOutLoss").asDouble(), 1e-12);
      assertTrue(committed.get("phases").has("jupiter"), "where the round's time went: " + committed);
      List<JsonNode> accepted = job.stream().filter(e -> e.get("type").asText().equals("update.accepted")
          && e.get("round").asLong() == r).toList();
      assertEquals(Set.copyOf(SITES), Set.copyOf(accepted.stream().map(e -> e.get("site").asText()).toList()));
    }

    List<JsonNode> sites = parse(read(PREFIX + ".sites", null));
    for (String site : SITES) {
      List<String> types = sites.stream().filter(e -> site.equals(e.path("site").asText()))
          .map(e -> e.get("type").asText()).toList();
      assertTrue(IntStream.range(0, types.size()).anyMatch(i -> types.get(i).equals("site.enrolled"))
          && types.indexOf("site.enrolled") < types.indexOf("site.online"), site + ": enrolled, then online: " + types);
    }
  }

  /** Every record of a topic from the start, until one of type {@code last} (or none for 10 s). */
  private List<ConsumerRecord<String, String>> read(String topic, String last) {
    Properties config = new Properties();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
    config.put(ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID());
    config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    List<ConsumerRecord<String, String>> records = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config, new StringDeserializer(),
        new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
      long quietSince = System.nanoTime();
      while (System.nanoTime() < deadline) {
        int before = records.size();
        consumer.poll(Duration.ofMillis(500)).forEach(records::add);
        if (records.size() > before) {
          quietSince = System.nanoTime();
        }
        boolean ended = last != null && records.stream().anyMatch(r -> r.value().contains("\"type\":\"" + last + "\""));
        if (ended || (last == null && !records.isEmpty() && System.nanoTime() - quietSince > 10_000_000_000L)) {
          break;
        }
      }
    }
    assertTrue(!records.isEmpty(), "no events on " + topic);
    return records;
  }

  private static List<JsonNode> parse(List<ConsumerRecord<String, String>> records) throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (ConsumerRecord<String, String> record : records) {
      events.add(JSON.readTree(record.value()));
    }
    return events;
  }
}
