package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.RoundRecord;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

/** Writes one line per round that a person can follow: who reported, the losses, bytes and time. */
public final class ProgressPrinter {
  private final PrintStream out;

  public ProgressPrinter(PrintStream out) {
    this.out = out;
  }

  void started(JobSpec job, long parameters, String initialLoss) {
    out.printf(Locale.ROOT, "job %s: %d rounds of %d local steps, outer %s, %,d parameters; held-out loss %s before round 1%n",
        job.id(), job.rounds(), job.localSteps(), job.outer().describe(), parameters, initialLoss);
    out.flush();
  }

  void committed(int rounds, RoundRecord record) {
    StringBuilder line = new StringBuilder();
    line.append(String.format(Locale.ROOT, "round %2d/%d  %d site%s", record.round(), rounds,
        record.acceptedSites().size(), record.acceptedSites().size() == 1 ? "" : "s"));
    line.append("  train loss");
    for (Map.Entry<String, Double> site : record.trainLoss().entrySet()) {
      line.append(String.format(Locale.ROOT, " %s %.3f", site.getKey(), site.getValue()));
    }
    line.append("  held-out ").append(record.heldOutLoss() == null ? "n/a"
        : String.format(Locale.ROOT, "%.3f", record.heldOutLoss()));
    long bytes = record.bytesUploaded().values().stream().mapToLong(Long::longValue).sum();
    line.append(String.format(Locale.ROOT, "  up %s  %.1f s", humanBytes(bytes), record.seconds()));
    if (record.commitSeconds() != null) {
      line.append(String.format(Locale.ROOT, "%n          time: commit %.2f s", record.commitSeconds()));
      record.phases().forEach((site, phases) -> line.append("; ").append(site).append(' ').append(phases.describe()));
    }
    for (RoundRecord.RefusedSite refused : record.refusedSites()) {
      line.append(String.format("%n          refused %s: %s %s", refused.site(), refused.reason(), refused.message()));
    }
    out.println(line);
    out.flush();
  }

  void line(String text) {
    out.println(text);
    out.flush();
  }

  static String humanBytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    double value = bytes;
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    int unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
  }
}
