package eu.hanse.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
    description = "The federation at a glance, from the coordinator's console (docs/console.md) with an operator's, "
        + "a lead's or a viewer's certificate: each site's state, what it is doing, when it was last heard from and "
        + "when its certificate expires; each job's state and progress; the audit trail. --json prints the "
        + "console's overview document.")
final class StatusCommand implements Callable<Integer> {
  @Mixin ConsoleClient.Options console = new ConsoleClient.Options();

  @Option(names = "--json", description = "Print the overview document as JSON.")
  boolean json;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    JsonNode overview = console.client().get("/api/v1/overview");
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(overview.toPrettyString());
      return 0;
    }
    long online = 0;
    for (JsonNode site : overview.get("sites")) {
      online += site.get("state").asText().equals("online") ? 1 : 0;
    }
    out.printf(Locale.ROOT, "Sites: %d of %d online%n", online, overview.get("sites").size());
    out.printf(Locale.ROOT, "  %-14s %-10s %-16s %-28s %-12s %s%n", "SITE", "STATE", "DEVICE", "DOING", "HEARD",
        "CERTIFICATE");
    for (JsonNode site : overview.get("sites")) {
      out.printf(Locale.ROOT, "  %-14s %-10s %-16s %-28s %-12s %s%n", site.get("site").asText(),
          site.get("state").asText(), site.path("device").asText("-"), doing(site), ago(site.get("lastHeard")),
          expires(site.get("certificateExpires")));
    }
    out.printf(Locale.ROOT, "Jobs: %d%n", overview.get("jobs").size());
    out.printf(Locale.ROOT, "  %-20s %-10s %-9s %-14s %s%n", "JOB", "STATE", "ROUNDS", "HELD-OUT LOSS", "WAITING FOR");
    for (JsonNode job : overview.get("jobs")) {
      JsonNode losses = job.get("heldOutLoss");
      JsonNode loss = losses.isEmpty() ? null : losses.get(losses.size() - 1);
      out.printf(Locale.ROOT, "  %-20s %-10s %-9s %-14s %s%n", job.get("job").asText(), job.get("state").asText(),
          job.get("roundsCompleted").asInt() + "/" + job.get("roundsPlanned").asInt(),
          loss == null || loss.isNull() ? "-" : String.format(Locale.ROOT, "%.4f", loss.asDouble()),
          job.path("waiting").asText("").isEmpty() ? "-" : job.get("waiting").asText());
    }
    out.println("Audit trail: " + overview.get("audit").get("description").asText());
    return 0;
  }

  private static String doing(JsonNode site) {
    String phase = site.path("phase").asText("");
    if (phase.isEmpty() || phase.equals("idle") || !site.get("state").asText().equals("online")) {
      return site.path("activity").asText("").isEmpty() ? "-" : site.get("activity").asText();
    }
    return String.format(Locale.ROOT, "%s %.0f%%", phase, 100 * site.path("progress").asDouble());
  }

  private static String ago(JsonNode time) {
    if (time == null || time.isNull()) {
      return "never";
    }
    long seconds = Duration.between(Instant.parse(time.asText()), Instant.now()).toSeconds();
    return seconds < 120 ? seconds + " s ago" : seconds < 7200 ? seconds / 60 + " min ago" : seconds / 3600 + " h ago";
  }

  private static String expires(JsonNode time) {
    if (time == null || time.isNull()) {
      return "unknown";
    }
    long days = Duration.between(Instant.now(), Instant.parse(time.asText())).toDays();
    return time.asText().substring(0, 10) + (days < 0 ? " (expired)" : " (in " + days + " days)");
  }
}
