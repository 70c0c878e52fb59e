package eu.hanse.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.security.EnrolmentTls;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in a real headless Chromium: a viewer logs in with a one-time link, the page loads
 * without an error, the federation's three rounds (alpha honest, mallory refused each time) arrive
 * live while the page is open, and a screenshot of each view goes to target/dashboard-screenshots.
 */
class DashboardIT {
  private static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");
  private static final int ROUNDS = 3;

  @TempDir Path pki;
  @TempDir Path dataDir;
  @TempDir Path browserDir;

  @Test
  void theDashboardShowsTheFederationLiveWithoutErrors() throws Exception {
    Optional<Path> chromium = HeadlessChromium.executable();
    Assumptions.assumeTrue(chromium.isPresent(),
        "Debian's chromium is not installed (.ci/run installs it): the dashboard was not tested in a browser");
    CountDownLatch browserOpen = new CountDownLatch(1);
    try (ConsoleFederation federation = new ConsoleFederation(pki, dataDir, ROUNDS, () -> await(browserOpen))) {
      HttpResponse<String> session = federation.post(federation.clients.get("viewer"), "/api/v1/sessions", "{}",
          Map.of("Content-Type", "application/json"));
      assertEquals(200, session.statusCode(), session.body());
      String login = new ObjectMapper().readTree(session.body()).get("loginUrl").asText();
      try (HeadlessChromium browser = HeadlessChromium.start(chromium.get(), browserDir.resolve("profile"),
          EnrolmentTls.readCertificate(federation.coordinatorTls.certificate()))) {
        browser.navigate(login);
        browser.waitFor("window.hanseDashboard && hanseDashboard.ready && hanseDashboard.overview",
            Duration.ofSeconds(30));
        assertEquals("urn:hanse:viewer:vera (viewer)", browser.evaluate(
            "document.getElementById('whoami').textContent").asText());
        assertEquals(0, browser.evaluate("hanseDashboard.overview.jobs[0].roundsCompleted").asInt(),
            "the sites wait for the browser, so every round comes live");
        browser.waitFor("document.getElementById('connection').textContent === 'live'", Duration.ofSeconds(20));
        int eventsBefore = browser.evaluate("hanseDashboard.liveEvents").asInt();

        browserOpen.countDown();
        assertTrue(federation.coordinator.awaitJob(Duration.ofSeconds(90)), "the job did not finish");
        browser.waitFor("hanseDashboard.overview.jobs[0].roundsCompleted === " + ROUNDS
            + " && document.querySelectorAll('#timeline .round').length === " + ROUNDS, Duration.ofSeconds(30));

        int live = browser.evaluate("hanseDashboard.liveEvents").asInt();
        assertTrue(live >= eventsBefore + 3 * ROUNDS, "live events: " + eventsBefore + " then " + live);
        String events = browser.evaluate("document.getElementById('events').textContent").asText();
        assertTrue(events.contains("round.committed") && events.contains("update.refused"), events);
        assertEquals(ROUNDS, browser.evaluate("document.querySelectorAll('#refused tbody tr').length").asInt());
        assertTrue(browser.evaluate("document.getElementById('refused').textContent").asText()
            .contains("NON_FINITE"));
        assertEquals("online", browser.evaluate(
            "document.querySelector('#sites tr[data-site=alpha] .badge').textContent").asText());
        assertTrue(browser.evaluate("document.querySelectorAll('#timeline .bar span').length").asInt() > 0);
        assertTrue(browser.evaluate("document.querySelectorAll('#loss-chart polyline').length").asInt() >= 2,
            "the global loss and alpha's training loss are drawn");
        assertTrue(browser.evaluate("document.getElementById('audit').textContent").asText().contains("intact"));

        Files.createDirectories(SCREENSHOTS);
        for (String view : List.of("overview", "rounds", "learning", "security")) {
          browser.evaluate("location.hash = '#" + view + "'");
          browser.waitFor("document.getElementById('view-" + view + "').classList.contains('active')",
              Duration.ofSeconds(5));
          byte[] png = browser.screenshot();
          assertTrue(png.length > 5000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', view);
          Files.write(SCREENSHOTS.resolve(view + ".png"), png);
        }
        assertEquals(List.of(), browser.errors(), "the page reported errors");
        browser.evaluate("console.error('the error collector works')");
        browser.waitFor("true", Duration.ofSeconds(1));
        assertTrue(browser.errors().toString().contains("the error collector works"), browser.errors().toString());
      }
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(2, TimeUnit.MINUTES)) {
        throw new IllegalStateException("the browser never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
