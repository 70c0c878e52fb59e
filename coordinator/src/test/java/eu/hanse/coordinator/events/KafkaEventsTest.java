package eu.hanse.coordinator.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Where each event goes and what it says; the broker itself is FederationEventsIT's. */
class KafkaEventsTest {
  private static final Instant TIME = Instant.parse("2026-11-25T08:00:00Z");

  @Test
  void aJobsEventsGoToTheJobsTopicKeyedByTheJobAndTheRestByTheSite() throws Exception {
    // Nothing listens on port 1: the producer is made, and nothing is sent in this test.
    try (KafkaEvents events = new KafkaEvents("127.0.0.1:1", "fed", Map.of())) {
      ProducerRecord<String, byte[]> accepted = events.record(new FederationEvent("update.accepted", TIME,
          Map.of("job", "pilot", "round", 3L, "site", "jupiter")));
      assertEquals("fed.jobs", accepted.topic());
      assertEquals("pilot", accepted.key());
      JsonNode json = new ObjectMapper().readTree(accepted.value());
      assertEquals(FederationEvent.SCHEMA, json.get("schema").asText());
      assertEquals("update.accepted", json.get("type").asText());
      assertEquals("2026-11-25T08:00:00Z", json.get("time").asText());
      assertEquals(3, json.get("round").asLong());

      ProducerRecord<String, byte[]> online = events.record(new FederationEvent("site.online", TIME,
          Map.of("site", "leonardo")));
      assertEquals("fed.sites", online.topic());
      assertEquals("leonardo", online.key());
      assertEquals("consortium", events.record(new FederationEvent("site.enrolment-refused", TIME,
          Map.of("reason", "EXPIRED"))).key());
    }
  }

  @Test
  void noBrokerIsRefusedAtOnce() {
    assertThrows(IllegalArgumentException.class, () -> new KafkaEvents(" ", "hanse", Map.of()));
  }
}
