package eu.hanse.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code hanse job watch}: follows one job through the console's event stream until it ends. On a
 * terminal, a live block at the bottom shows a progress bar per site for the open round (from the
 * sites' heartbeats, read once a second) above which a line per committed round scrolls; elsewhere,
 * a plain line per event; or the events as JSON lines.
 */
final class JobWatch {
  enum Mode { LIVE, PLAIN, JSON }

  private static final Set<String> ENDINGS = Set.of("job.finished", "job.failed", "job.cancelled");
  private static final int BAR = 30;

  private final ConsoleClient client;
  private final String job;
  private final PrintWriter out;
  private final Mode mode;
  /** A stream silent this long (the console sends a keep-alive every 15 s) is taken for dead. */
  private static final long SILENCE_NANOS = TimeUnit.SECONDS.toNanos(45);
  /** Reconnections in a row, without an event between them, before the watch gives up. */
  private static final int RECONNECTIONS = 5;

  private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();
  private final java.util.Set<Long> committedShown = new java.util.HashSet<>();
  private Stream stream;
  private long lastSeq;
  private OpenRound open;
  private int drawnLines;

  /** One connection to the event stream, and what it has said so far. */
  private final class Stream implements ConsoleClient.StreamListener {
    volatile long lastHeard = System.nanoTime();
    volatile boolean ended;
    volatile Exception why;

    @Override
    public void event(JsonNode event) {
      events.add(event);
    }

    @Override
    public void heard() {
      lastHeard = System.nanoTime();
    }

    @Override
    public void ended(Exception why) {
      this.why = why;
      ended = true;
    }

    boolean dead() {
      return ended || System.nanoTime() - lastHeard > SILENCE_NANOS;
    }
  }

  /** The round under way: who was asked, and what became of each site's update. */
  private static final class OpenRound {
    final long round;
    final long openedNanos = System.nanoTime();
    final Map<String, String> outcome = new LinkedHashMap<>();

    OpenRound(long round, List<String> participants) {
      this.round = round;
      participants.forEach(site -> outcome.put(site, null));
    }
  }

  JobWatch(ConsoleClient client, String job, PrintWriter out, Mode mode) {
    this.client = client;
    this.job = job;
    this.out = out;
    this.mode = mode;
  }

  /** Watches until the job ends: 0 if it finished, 1 if it failed or was cancelled. */
  int run() throws InterruptedException {
    JsonNode overview = client.get("/api/v1/overview");
    JsonNode status = null;
    List<String> jobs = new ArrayList<>();
    for (JsonNode candidate : overview.get("jobs")) {
      jobs.add(candidate.get("job").asText());
      if (candidate.get("job").asText().equals(job)) {
        status = candidate;
      }
    }
    if (status == null) {
      throw new IllegalArgumentException("no job '" + job + "' at this coordinator; jobs: " + jobs);
    }
    if (mode == Mode.JSON) {
      out.println(status);
    } else {
      out.printf(Locale.ROOT, "job %s: %s, %d of %d rounds committed%n", job, status.get("state").asText(),
          status.get("roundsCompleted").asInt(), status.get("roundsPlanned").asInt());
      status.get("rounds").forEach(round -> {
        committedShown.add(round.get("round").asLong());
        out.println(roundLine(round));
      });
    }
    out.flush();
    String state = status.get("state").asText();
    if (!state.equals("RUNNING") && !state.equals("PAUSED")) {
      return state.equals("FINISHED") ? 0 : 1;
    }
    lastSeq = overview.get("eventSeq").asLong();
    connect();
    int reconnections = 0;
    long lastDraw = 0;
    while (true) {
      JsonNode event = events.poll(200, TimeUnit.MILLISECONDS);
      if (event != null) {
        reconnections = 0;
        if (event.path("seq").asLong() <= lastSeq) {
          continue; // Told again after a reconnection.
        }
        lastSeq = event.path("seq").asLong();
        if (job.equals(event.path("job").asText())) {
          Integer exit = handle(event);
          if (exit != null) {
            return exit;
          }
        }
      } else if (stream.dead()) {
        if (++reconnections > RECONNECTIONS) {
          clearLive();
          throw new IllegalStateException("lost the coordinator's event stream " + RECONNECTIONS + " times before "
              + "the job ended" + (stream.why == null ? "" : ": " + stream.why.getMessage()));
        }
        Thread.sleep(2000);
        connect();
      }
      if (mode == Mode.LIVE && System.nanoTime() - lastDraw > 1_000_000_000L) {
        drawLive();
        lastDraw = System.nanoTime();
      }
    }
  }

  /** Opens the event stream after the last event seen; a dead one's thread is left to end by itself. */
  private void connect() {
    stream = new Stream();
    client.follow(lastSeq, stream);
  }

  /** Shows one of the job's events; returns the exit code when it is the job's end. */
  private Integer handle(JsonNode event) {
    if (mode == Mode.JSON) {
      out.println(event);
      out.flush();
      return ENDINGS.contains(event.get("type").asText()) ? exitCode(event) : null;
    }
    String type = event.get("type").asText();
    String line = switch (type) {
      case "round.opened" -> {
        List<String> participants = new ArrayList<>();
        event.path("participants").forEach(site -> participants.add(site.asText()));
        open = new OpenRound(event.get("round").asLong(), participants);
        yield mode == Mode.PLAIN ? "round " + open.round + " opened for " + String.join(", ", participants) : null;
      }
      case "update.accepted" -> {
        outcome(event, "accepted");
        yield mode == Mode.PLAIN ? String.format(Locale.ROOT, "round %d: update from %s accepted (%s)",
            event.get("round").asLong(), event.get("site").asText(),
            FederationBenchmarks.ProgressBytes.of(event.path("bytes").asLong())) : null;
      }
      case "update.refused" -> {
        outcome(event, "refused " + event.path("reason").asText());
        yield String.format(Locale.ROOT, "round %d: update from %s refused: %s: %s", event.get("round").asLong(),
            event.get("site").asText(), event.path("reason").asText(), event.path("message").asText());
      }
      case "round.committed" -> {
        open = null;
        // The overview this watch started from may already have shown it.
        yield committedShown.add(event.get("round").asLong()) ? roundLine(event) : null;
      }
      case "job.paused", "job.resumed" -> "job " + job + " " + type.substring(4) + " by " + event.path("by").asText();
      case "job.finished", "job.failed", "job.cancelled" -> "job " + job + " " + type.substring(4)
          + (event.path("reason").asText().isEmpty() ? "" : ": " + event.path("reason").asText())
          + " after " + event.path("rounds").asLong() + " rounds";
      default -> null;
    };
    if (line != null) {
      clearLive();
      out.println(line);
      out.flush();
    }
    return ENDINGS.contains(type) ? exitCode(event) : null;
  }

  private static int exitCode(JsonNode ending) {
    return ending.get("type").asText().equals("job.finished") ? 0 : 1;
  }

  private void outcome(JsonNode event, String what) {
    if (open != null && open.round == event.path("round").asLong()) {
      open.outcome.put(event.get("site").asText(), what);
    }
  }

  /** A committed round in one line: its time, held-out loss, accepted sites with bytes, refusals. */
  static String roundLine(JsonNode round) {
    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d committed in %.1f s",
        round.get("round").asLong(), round.path("seconds").asDouble()));
    if (round.hasNonNull("heldOutLoss")) {
      line.append(String.format(Locale.ROOT, ", held-out loss %.4f", round.get("heldOutLoss").asDouble()));
    }
    List<String> accepted = new ArrayList<>();
    round.path("acceptedSites").forEach(site -> accepted.add(site.asText() + " "
        + FederationBenchmarks.ProgressBytes.of(round.path("bytesUploaded").path(site.asText()).asLong())));
    line.append("; accepted ").append(accepted.isEmpty() ? "none" : String.join(", ", accepted));
    round.path("refusedSites").forEach(refused -> line.append("; refused ").append(refused.path("site").asText())
        .append(" (").append(refused.path("reason").asText()).append(')'));
    return line.toString();
  }

  /** The live block: the open round and a bar per site, redrawn in place. */
  private void drawLive() throws InterruptedException {
    clearLive();
    if (open == null) {
      return;
    }
    Map<String, JsonNode> sites = new LinkedHashMap<>();
    client.get("/api/v1/sites").forEach(site -> sites.put(site.get("site").asText(), site));
    List<String> lines = new ArrayList<>();
    lines.add(String.format(Locale.ROOT, "round %d open for %.0f s", open.round,
        (System.nanoTime() - open.openedNanos) / 1e9));
    open.outcome.forEach((site, outcome) -> {
      JsonNode row = sites.get(site);
      double share = outcome != null ? 1 : roundShare(row);
      String what = outcome != null ? outcome : row == null ? "unknown" : !row.path("state").asText().equals("online")
          ? row.path("state").asText()
          : row.path("phase").asText("").isEmpty() ? "waiting" : String.format(Locale.ROOT, "%s %.0f%%",
              row.path("phase").asText(), 100 * row.path("progress").asDouble());
      int filled = (int) Math.round(share * BAR);
      lines.add(String.format(Locale.ROOT, "  %-14s [%s%s] %3.0f%%  %s", site, "#".repeat(filled),
          "-".repeat(BAR - filled), 100 * share, what));
    });
    lines.forEach(out::println);
    out.flush();
    drawnLines = lines.size();
  }

  /** How far a site is through its part of the round: download, (batch queue,) training, then upload. */
  private static double roundShare(JsonNode site) {
    if (site == null) {
      return 0;
    }
    double progress = site.path("progress").asDouble();
    return switch (site.path("phase").asText()) {
      case "download" -> 0.2 * progress;
      case "queue" -> 0.2;
      case "train" -> 0.2 + 0.5 * progress;
      case "upload" -> 0.7 + 0.3 * progress;
      default -> 0;
    };
  }

  private void clearLive() {
    if (drawnLines > 0) {
      out.print("\033[" + drawnLines + "F\033[J");
      out.flush();
      drawnLines = 0;
    }
  }
}
