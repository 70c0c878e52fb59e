package eu.hanse.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.console.HttpConsole;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.security.SiteId;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP console of a real coordinator, over HTTPS on 127.0.0.1, while and after a job of two
 * rounds runs with scripted agents: alpha honest, mallory sending a NaN. Each role is a real
 * certificate from the consortium's CA: the viewer reads everything and changes nothing.
 */
class HttpConsoleIT {
  private static final int ELEMENTS = ConsoleFederation.ELEMENTS;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path pki;
  @TempDir static Path dataDir;
  private static ConsoleFederation federation;
  private static Coordinator coordinator;
  private static Map<String, HttpClient> CLIENTS;
  private static HttpClient anonymous;
  private static Map<String, ScriptedAgent> AGENTS;
  private static final List<String> LIVE = new java.util.concurrent.CopyOnWriteArrayList<>();
  private static final CompletableFuture<Void> LIVE_COMMIT = new CompletableFuture<>();
  private static String base;

  /** What the coordinator logged (Hanse's own logging, JSON lines on standard error) while the job ran. */
  private static final java.io.ByteArrayOutputStream LOGGED = new java.io.ByteArrayOutputStream();

  @BeforeAll
  static void runAJobWithTheConsoleOpen() throws Exception {
    java.io.PrintStream stderr = System.err;
    System.setErr(new java.io.PrintStream(new java.io.OutputStream() {
      @Override
      public void write(int b) {
        stderr.write(b);
        LOGGED.write(b);
      }

      @Override
      public void write(byte[] bytes, int offset, int length) {
        stderr.write(bytes, offset, length);
        LOGGED.write(bytes, offset, length);
      }
    }, true));
    federation = new ConsoleFederation(pki, dataDir, 2, () -> { });
    coordinator = federation.coordinator;
    CLIENTS = federation.clients;
    anonymous = federation.anonymous;
    AGENTS = federation.agents;
    base = federation.base;
    Thread.ofPlatform().daemon().start(HttpConsoleIT::readLiveEvents);
    try {
      assertTrue(coordinator.awaitJob(Duration.ofSeconds(60)), "the job did not finish");
    } finally {
      System.setErr(stderr);
    }
  }

  /** Follows the event stream as the viewer, from the start, while the job runs. */
  private static void readLiveEvents() {
    try {
      HttpResponse<InputStream> stream = CLIENTS.get("viewer").send(HttpRequest.newBuilder(URI.create(base
          + "/api/v1/events")).build(), HttpResponse.BodyHandlers.ofInputStream());
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          if (line.startsWith("data: ")) {
            LIVE.add(line.substring(6));
            if (line.contains("\"type\":\"round.committed\"") && line.contains("\"round\":2")) {
              LIVE_COMMIT.complete(null);
            }
          }
        }
      }
    } catch (Exception e) {
      LIVE_COMMIT.completeExceptionally(e);
    }
  }

  @AfterAll
  static void stop() {
    if (federation != null) {
      federation.close();
    }
  }

  private static HttpResponse<String> get(String role, String path) throws Exception {
    return federation.get(role, path);
  }

  private static HttpResponse<String> post(HttpClient client, String path, String body, Map<String, String> headers)
      throws Exception {
    return federation.post(client, path, body, headers);
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  @Test
  void theViewerReadsSitesJobsRoundsUpdatesCheckpointsAndTheAuditTrail() throws Exception {
    HttpResponse<String> whoami = get("viewer", "/api/v1/whoami");
    assertEquals(200, whoami.statusCode(), whoami.body());
    assertEquals("urn:hanse:viewer:vera", json(whoami).get("identity").asText());
    assertEquals(0, json(whoami).get("mayChange").size());

    JsonNode jobs = json(get("viewer", "/api/v1/jobs"));
    assertEquals("web", jobs.get(0).get("job").asText());
    assertEquals(JobStatus.FINISHED, jobs.get(0).get("state").asText());
    assertEquals(2, jobs.get(0).get("roundsCompleted").asInt());

    JsonNode job = json(get("viewer", "/api/v1/jobs/web"));
    assertEquals(2, job.get("rounds").size());
    JsonNode round = json(get("viewer", "/api/v1/jobs/web/rounds/2"));
    assertEquals(2, round.get("round").asInt());
    assertEquals("alpha", round.get("acceptedSites").get(0).asText());
    assertTrue(round.get("phases").has("alpha"), round.toString());

    JsonNode updates = json(get("viewer", "/api/v1/jobs/web/updates"));
    List<String> refusals = new ArrayList<>();
    int accepted = 0;
    for (JsonNode update : updates) {
      if (update.get("state").asText().equals("refused")) {
        refusals.add(update.get("site").asText() + ":" + update.get("reason").asText());
      } else {
        accepted++;
        assertEquals(4L * ELEMENTS, update.get("bytes").asLong());
      }
    }
    assertEquals(2, accepted, updates.toString());
    assertEquals(List.of("mallory:NON_FINITE", "mallory:NON_FINITE"), refusals);

    JsonNode checkpoints = json(get("viewer", "/api/v1/jobs/web/checkpoints"));
    assertEquals(3, checkpoints.size());
    assertEquals(job.get("finalCheckpoint").asText(), checkpoints.get(2).get("path").asText());
    assertEquals(64, checkpoints.get(2).get("checkpoint").asText().length());

    JsonNode sites = json(get("viewer", "/api/v1/sites"));
    Map<String, JsonNode> bySite = new java.util.HashMap<>();
    sites.forEach(site -> bySite.put(site.get("site").asText(), site));
    assertEquals(java.util.Set.of("alpha", "mallory"), bySite.keySet());
    assertEquals("online", bySite.get("alpha").get("state").asText());
    assertNotNull(java.time.Instant.parse(bySite.get("alpha").get("certificateExpires").asText()));
    assertNotNull(java.time.Instant.parse(bySite.get("alpha").get("lastHeard").asText()));
    assertEquals(4L * ELEMENTS, bySite.get("alpha").get("lastUpdateBytes").asLong());

    JsonNode audit = json(get("viewer", "/api/v1/audit"));
    assertTrue(audit.get("ok").asBoolean(), audit.toString());
    assertTrue(audit.get("entries").asLong() > 0);
  }

  @Test
  void eachRefusedUpdateIsOneJsonLogLineNamingItsJobRoundSiteAndReason() throws Exception {
    List<JsonNode> refusals = new ArrayList<>();
    for (String line : LOGGED.toString(StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("{")) {
        JsonNode entry = JSON.readTree(line);
        assertTrue(entry.has("time") && entry.has("level") && entry.has("message"), line);
        if (entry.path("reason").asText().equals("NON_FINITE")) {
          refusals.add(entry);
        }
      }
    }
    assertEquals(2, refusals.size(), "one line per refused update: " + refusals);
    for (JsonNode refusal : refusals) {
      assertEquals("web", refusal.get("job").asText());
      assertEquals("mallory", refusal.get("site").asText());
      assertTrue(refusal.get("round").isNumber());
      assertEquals("WARN", refusal.get("level").asText());
      assertTrue(refusal.get("message").asText().contains("refused update from mallory: NON_FINITE: element 7"),
          refusal.toString());
    }
  }

  @Test
  void theViewerChangesNothingAndEveryRefusalIsAudited() throws Exception {
    String before = json(get("viewer", "/api/v1/jobs/web")).toString();
    for (String path : List.of("/api/v1/jobs/web/cancel", "/api/v1/jobs/web/pause", "/api/v1/sites/alpha/revoke")) {
      HttpResponse<String> refused = post(CLIENTS.get("viewer"), path, "{}", Map.of("Content-Type",
          "application/json"));
      assertEquals(403, refused.statusCode(), path + ": " + refused.body());
      assertEquals("FORBIDDEN", json(refused).get("code").asText());
      assertTrue(json(refused).get("error").asText().startsWith("urn:hanse:viewer:vera may not "), refused.body());
    }
    assertEquals(before, json(get("viewer", "/api/v1/jobs/web")).toString());
    assertEquals("online", siteState("alpha"));
    assertFalse(coordinator.consortium().isRevoked(new SiteId("alpha")));
    String trail = Files.readString(Consortium.auditFile(dataDir));
    assertTrue(trail.contains("\"type\":\"admin.forbidden\"") && trail.contains("urn:hanse:viewer:vera"), trail);
  }

  @Test
  void aLeadMayNotRevokeAndAnOperatorMayNotCancel() throws Exception {
    assertEquals(403, post(CLIENTS.get("lead"), "/api/v1/sites/alpha/revoke", "{}",
        Map.of("Content-Type", "application/json")).statusCode());
    assertEquals(403, post(CLIENTS.get("operator"), "/api/v1/jobs/web/cancel", "{}",
        Map.of("Content-Type", "application/json")).statusCode());
    HttpResponse<String> site = get("site", "/api/v1/jobs");
    assertEquals(403, site.statusCode(), site.body());
  }

  @Test
  void withoutACertificateOrASessionNothingIsShown() throws Exception {
    for (String path : List.of("/api/v1/jobs", "/api/v1/sites", "/metrics", "/api/v1/events")) {
      HttpResponse<String> response = get(null, path);
      assertEquals(401, response.statusCode(), path);
      assertEquals("UNAUTHENTICATED", json(response).get("code").asText());
    }
    HttpRequest forged = HttpRequest.newBuilder(URI.create(base + "/api/v1/jobs"))
        .header("Authorization", "Bearer not-a-session").build();
    assertEquals(401, anonymous.send(forged, HttpResponse.BodyHandlers.ofString()).statusCode());
  }

  @Test
  void aViewersSessionLetsABrowserReadButTheLoginCodeWorksOnce() throws Exception {
    HttpResponse<String> opened = post(CLIENTS.get("viewer"), "/api/v1/sessions", "{}",
        Map.of("Content-Type", "application/json"));
    assertEquals(200, opened.statusCode(), opened.body());
    String token = json(opened).get("token").asText();
    URI login = URI.create(json(opened).get("loginUrl").asText());
    assertEquals("/login", login.getPath());

    HttpResponse<String> first = anonymous.send(HttpRequest.newBuilder(login).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(303, first.statusCode());
    String cookie = first.headers().firstValue("Set-Cookie").orElseThrow();
    assertTrue(cookie.startsWith(HttpConsole.SESSION_COOKIE + "=" + token + ";"), cookie);
    String attributes = cookie.toLowerCase(java.util.Locale.ROOT);
    assertTrue(attributes.contains("; httponly") && attributes.contains("; secure")
        && attributes.contains("; samesite=strict"), cookie);
    assertEquals(401, anonymous.send(HttpRequest.newBuilder(login).build(), HttpResponse.BodyHandlers.ofString())
        .statusCode(), "a login code works once");

    HttpResponse<String> withCookie = anonymous.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/whoami"))
        .header("Cookie", HttpConsole.SESSION_COOKIE + "=" + token).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals("urn:hanse:viewer:vera", json(withCookie).get("identity").asText());
    HttpResponse<String> cancel = post(anonymous, "/api/v1/jobs/web/cancel", "{}",
        Map.of("Content-Type", "application/json", "Authorization", "Bearer " + token));
    assertEquals(403, cancel.statusCode(), "a viewer's session is a viewer");
    HttpResponse<String> another = post(anonymous, "/api/v1/sessions", "{}",
        Map.of("Content-Type", "application/json", "Authorization", "Bearer " + token));
    assertEquals(403, another.statusCode(), "a session cannot open another");
  }

  @Test
  void liveEventsArriveInOrderWhileTheJobRuns() throws Exception {
    LIVE_COMMIT.get(30, TimeUnit.SECONDS);
    List<String> types = new ArrayList<>();
    long previous = 0;
    for (String data : LIVE) {
      JsonNode event = JSON.readTree(data);
      assertEquals(previous + 1, event.get("seq").asLong(), "no event missed or repeated");
      previous = event.get("seq").asLong();
      types.add(event.get("type").asText());
    }
    assertTrue(types.indexOf("round.opened") < types.indexOf("update.accepted"), types.toString());
    assertTrue(types.contains("update.refused"), types.toString());
    assertTrue(types.lastIndexOf("round.committed") > types.indexOf("update.accepted"), types.toString());
  }

  @Test
  void postsNeedJsonAndUnknownThingsAreClearErrors() throws Exception {
    HttpResponse<String> form = post(CLIENTS.get("lead"), "/api/v1/jobs/web/pause", "x=1",
        Map.of("Content-Type", "application/x-www-form-urlencoded"));
    assertEquals(415, form.statusCode(), form.body());
    HttpResponse<String> unknownJob = get("viewer", "/api/v1/jobs/nope");
    assertEquals(404, unknownJob.statusCode());
    assertEquals("no job 'nope' here; jobs: [web]", json(unknownJob).get("error").asText());
    assertEquals(404, get("viewer", "/api/v1/jobs/web/rounds/9").statusCode());
    assertEquals(404, get("viewer", "/api/v1/nothing").statusCode());
    HttpResponse<String> badBody = post(CLIENTS.get("operator"), "/api/v1/sites/alpha/revoke", "[1,2",
        Map.of("Content-Type", "application/json"));
    assertEquals(400, badBody.statusCode(), badBody.body());
    assertFalse(coordinator.consortium().isRevoked(new SiteId("alpha")), "a bad request changes nothing");
  }

  @Test
  void metricsAreInThePrometheusFormatAndPromtoolAcceptsThem() throws Exception {
    String lastCheckpoint = coordinator.status().rounds().getLast().checkpoint();
    int downloaded = AGENTS.get("alpha").fetch(lastCheckpoint, 0).length;
    HttpResponse<String> scraped = get("viewer", "/metrics");
    assertEquals(200, scraped.statusCode(), scraped.body());
    assertTrue(scraped.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
    String metrics = scraped.body();
    for (String sample : List.of("hanse_sites_online 2", "hanse_site_up{site=\"alpha\"} 1",
        "hanse_job_rounds_committed{job=\"web\"} 2", "hanse_job_rounds_planned{job=\"web\"} 2",
        "hanse_updates_accepted_total{job=\"web\",site=\"alpha\"} 2",
        "hanse_updates_refused_total{job=\"web\",site=\"mallory\",reason=\"NON_FINITE\"} 2",
        "hanse_site_update_received_bytes_total{job=\"web\",site=\"alpha\"} " + 2 * 4 * ELEMENTS,
        "hanse_round_duration_seconds_count{job=\"web\"} 2", "hanse_job_round_deadline_seconds{job=\"web\"} 60",
        "hanse_job_info{job=\"web\",state=\"FINISHED\"} 1",
        "hanse_site_checkpoint_sent_bytes_total{site=\"alpha\"} " + downloaded)) {
      PrometheusSamples.Sample expected = PrometheusSamples.parseLine(sample);
      assertEquals(expected.value(), PrometheusSamples.parse(metrics).get(expected.key()), sample + " in:\n" + metrics);
    }
    for (String family : List.of("hanse_site_certificate_expiry_timestamp_seconds{site=\"alpha\"}",
        "hanse_site_last_heard_timestamp_seconds{site=\"alpha\"}",
        "hanse_round_phase_seconds{job=\"web\",site=\"alpha\",phase=\"upload\"}",
        "hanse_aggregation_bytes_per_second{job=\"web\"}", "hanse_round_commit_seconds{job=\"web\"}")) {
      assertTrue(PrometheusSamples.parse(metrics).containsKey(PrometheusSamples.parseLine(family + " 0").key()),
          family + " missing from:\n" + metrics);
    }
    Path promtool = java.util.stream.Stream.of(System.getenv("PATH").split(java.io.File.pathSeparator))
        .map(dir -> Path.of(dir, "promtool")).filter(Files::isExecutable).findFirst().orElse(null);
    org.junit.jupiter.api.Assumptions.assumeTrue(promtool != null,
        "promtool is not installed (Debian's prometheus package; .ci/run installs it): the format was not linted");
    Process check = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
    check.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
    check.getOutputStream().close();
    String verdict = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(check.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, check.exitValue(), "promtool check metrics: " + verdict + "\n" + metrics);
  }

  @Test
  void everyMetricTheAlertsAndTheDashboardUseIsOneTheCoordinatorServes() throws Exception {
    String metrics = get("viewer", "/metrics").body();
    java.util.Set<String> scraped = new java.util.TreeSet<>();
    java.util.regex.Matcher family = java.util.regex.Pattern.compile("(?m)^# TYPE (\\S+) ").matcher(metrics);
    while (family.find()) {
      scraped.add(family.group(1));
    }
    // A family without a sample now (no round is open) is left out of a scrape; the coordinator declares them all.
    java.util.Set<String> served = new java.util.TreeSet<>(
        new eu.hanse.coordinator.console.FederationMetrics(java.time.Clock.systemUTC()).families());
    assertTrue(served.containsAll(scraped), "scraped families the coordinator does not declare: " + scraped);
    java.util.Set<String> used = new java.util.TreeSet<>();
    for (String file : List.of("alerts.yaml", "grafana-dashboard.json")) {
      java.util.regex.Matcher name = java.util.regex.Pattern.compile("hanse_[a-z_]+")
          .matcher(Files.readString(Path.of("../deploy/monitoring", file)));
      while (name.find()) {
        used.add(name.group().replaceAll("_(bucket|sum|count)$", ""));
      }
    }
    assertTrue(used.size() >= 10, used.toString());
    java.util.Set<String> missing = new java.util.TreeSet<>(used);
    missing.removeAll(served);
    assertEquals(java.util.Set.of(), missing, "used in deploy/monitoring but not served; served: " + served);
  }

  private static String siteState(String site) throws Exception {
    for (JsonNode row : json(get("viewer", "/api/v1/sites"))) {
      if (row.get("site").asText().equals(site)) {
        return row.get("state").asText();
      }
    }
    return "absent";
  }
}
