package eu.hanse.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.LoggerContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/** Hanse's log lines as logback writes them through {@link HanseLogging} and {@link HanseEncoder}. */
class HanseLoggingTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  /** A logger of a fresh logback context configured as the processes are, from {@code environment}. */
  private Logger logger(Map<String, String> environment, String name) {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(MDC.getMDCAdapter()); // The thread context the tests set, as the bound context has it.
    HanseLogging.configure(context, environment, bytes);
    return context.getLogger(name);
  }

  private String written() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @AfterEach
  void clearContext() {
    MDC.clear();
  }

  @Test
  void slf4jIsBoundToLogbackConfiguredByHanse() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    var appender = (ch.qos.logback.core.OutputStreamAppender<?>) context.getLogger(Logger.ROOT_LOGGER_NAME)
        .getAppender("hanse");
    assertTrue(appender.getEncoder() instanceof HanseEncoder, String.valueOf(appender.getEncoder()));
  }

  @Test
  void aRefusalIsOneJsonLineWithItsJobRoundSiteAndReason() throws Exception {
    MDC.put("job", "llm-7b");
    MDC.put("round", "12");
    logger(Map.of(), "eu.hanse.coordinator.JobRun").atWarn().addKeyValue("site", "mallory")
        .addKeyValue("reason", "NON_FINITE").log("round {}: refused update from {}: {}", 12, "mallory",
            "element 7 is \"NaN\"\nsecond line");
    String[] lines = written().split("\n");
    assertEquals(1, lines.length, written());
    JsonNode line = new ObjectMapper().readTree(lines[0]);
    assertEquals("WARN", line.get("level").asText());
    assertEquals("JobRun", line.get("logger").asText());
    assertEquals("round 12: refused update from mallory: element 7 is \"NaN\"\nsecond line",
        line.get("message").asText());
    assertEquals("llm-7b", line.get("job").asText());
    assertEquals(12, line.get("round").asLong());
    assertTrue(line.get("round").isNumber());
    assertEquals("mallory", line.get("site").asText());
    assertEquals("NON_FINITE", line.get("reason").asText());
    assertTrue(java.time.Instant.parse(line.get("time").asText()).isAfter(java.time.Instant.EPOCH));
  }

  @Test
  void theLineStaysJsonWhateverTheContextHolds() throws Exception {
    MDC.put("site", "007");
    logger(Map.of(), "eu.hanse.coordinator.JobRun").atInfo().addKeyValue("loss", Double.NaN)
        .addKeyValue("message", "a key that is also a field").addKeyValue("bytes", 12L).log("text");
    JsonNode line = new ObjectMapper().readTree(written().strip());
    assertEquals("text", line.get("message").asText());
    assertEquals("a key that is also a field", line.get("message_").asText());
    assertEquals("NaN", line.get("loss").asText());
    assertEquals(12, line.get("bytes").asLong());
    assertEquals("007", line.get("site").asText(), "a name made of digits stays a name");
  }

  @Test
  void anErrorCarriesItsStackInTheSameLine() throws Exception {
    logger(Map.of(), "eu.hanse.coordinator.JobRun").error("job {} failed", "x", new IllegalStateException("boom"));
    JsonNode line = new ObjectMapper().readTree(written().strip());
    assertEquals("job x failed", line.get("message").asText());
    assertEquals("java.lang.IllegalStateException: boom", line.get("error").asText());
    assertTrue(line.get("stack").asText().contains("HanseLoggingTest"), line.get("stack").asText());
  }

  @Test
  void levelsComeFromTheEnvironmentAndLibrariesSpeakFromWarnUp() {
    logger(Map.of(), "eu.hanse.agent.SiteAgent").debug("not shown");
    logger(Map.of(), "io.netty.channel.Foo").info("not shown either");
    assertEquals("", written());
    logger(Map.of("HANSE_LOG_LEVEL", "debug"), "eu.hanse.agent.SiteAgent").debug("shown");
    assertTrue(written().contains("\"message\":\"shown\""), written());
  }

  @Test
  void theTextFormatIsALineForPeopleWithTheContextAtTheEnd() {
    MDC.put("site", "jupiter");
    logger(Map.of("HANSE_LOG_FORMAT", "text"), "eu.hanse.agent.SiteAgent").info("round {}: trained", 3);
    String line = written().strip();
    assertTrue(line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO SiteAgent - round 3: trained site=jupiter"), line);
    assertFalse(line.startsWith("{"));
  }
}
