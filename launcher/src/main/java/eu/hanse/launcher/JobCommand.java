package eu.hanse.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import eu.hanse.coordinator.jobfile.JobFile;
import eu.hanse.protocol.v1.ControlJobRequest;
import eu.hanse.protocol.v1.JobStatusRequest;
import eu.hanse.protocol.v1.ListJobsRequest;
import eu.hanse.protocol.v1.SubmitJobRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "job", mixinStandardHelpOptions = true,
    description = "A training lead's commands: submit a job file to a running coordinator, list its jobs, show "
        + "one, pause, resume or cancel it. Each call is made over mutual TLS with a lead's certificate ('hanse ca "
        + "issue-admin --role lead'); operators may list and show.",
    subcommands = {JobCommand.Submit.class, JobCommand.List.class, JobCommand.Status.class, JobCommand.Watch.class,
        JobCommand.Pause.class, JobCommand.Resume.class, JobCommand.Cancel.class})
final class JobCommand extends CommandGroup {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Command(name = "submit", mixinStandardHelpOptions = true,
      description = "Submits a job file (YAML; see docs/jobs.md). The coordinator checks it and refuses it with the "
          + "line and the reason, or starts the job at its start time. Submitting the same file again changes "
          + "nothing.")
  static final class Submit implements Callable<Integer> {
    @Mixin AdminCommand.Connection connection = new AdminCommand.Connection();

    @Parameters(index = "0", paramLabel = "FILE", description = "The job file.")
    Path file;

    @Override
    public Integer call() throws IOException {
      if (Files.size(file) > JobFile.MAX_BYTES) {
        throw new IllegalArgumentException(file + " has " + Files.size(file) + " bytes; a job file is at most "
            + JobFile.MAX_BYTES);
      }
      byte[] bytes = Files.readAllBytes(file);
      String json = connection.call(stub -> stub.submitJob(SubmitJobRequest.newBuilder()
          .setJobFile(ByteString.copyFrom(bytes)).setFileName(file.toString()).build())).getJson();
      JsonNode status = JSON.readTree(json);
      System.out.println("job " + status.get("job").asText() + " submitted: " + status.get("state").asText()
          + ", " + status.get("roundsCompleted").asInt() + " of " + status.get("roundsPlanned").asInt() + " rounds");
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the coordinator's jobs.")
  static final class List implements Callable<Integer> {
    @Mixin AdminCommand.Connection connection = new AdminCommand.Connection();

    @Option(names = "--json", description = "Print the list as JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
      String reply = connection.call(stub -> stub.listJobs(ListJobsRequest.getDefaultInstance())).getJson();
      if (json) {
        System.out.println(reply);
        return 0;
      }
      System.out.printf(Locale.ROOT, "%-24s %-10s %-9s %s%n", "JOB", "STATE", "ROUNDS", "SITES ONLINE");
      for (JsonNode job : JSON.readTree(reply)) {
        System.out.printf(Locale.ROOT, "%-24s %-10s %-9s %s%n", job.get("job").asText(), job.get("state").asText(),
            job.get("roundsCompleted").asInt() + "/" + job.get("roundsPlanned").asInt(),
            String.join(", ", JSON.convertValue(job.get("sites"), String[].class)));
      }
      return 0;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Shows a job: its state and a line per committed round; --json gives the whole status document "
          + "(state, roundsCompleted, rounds with round, state, acceptedSites, refusedSites, checkpoint, ...).")
  static final class Status implements Callable<Integer> {
    @Mixin AdminCommand.Connection connection = new AdminCommand.Connection();

    @Parameters(index = "0", paramLabel = "JOB", description = "The job's id.")
    String job;

    @Option(names = "--json", description = "Print the status document as JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
      String reply = connection.call(stub -> stub.getJobStatus(JobStatusRequest.newBuilder().setJobId(job).build()))
          .getJson();
      if (json) {
        System.out.println(reply);
      } else {
        printSummary(JSON.readTree(reply));
      }
      return 0;
    }
  }

  @Command(name = "watch", mixinStandardHelpOptions = true,
      description = "Follows a job live through the coordinator's console (docs/console.md), with an operator's, a "
          + "lead's or a viewer's certificate, until it ends. On a terminal: a progress bar per site for the open "
          + "round, and a line per committed round. Not on a terminal, or with --plain: a line per round opened, "
          + "update accepted or refused, round committed. With --json: the job's status, then each of its events, "
          + "one JSON object per line (docs/events.md). Exits 0 when the job finishes, 1 when it fails or is "
          + "cancelled.")
  static final class Watch implements Callable<Integer> {
    @Mixin ConsoleClient.Options console = new ConsoleClient.Options();

    @Parameters(index = "0", paramLabel = "JOB", description = "The job's id.")
    String job;

    @Option(names = "--json", description = "Print the job's status, then its events, as JSON lines.")
    boolean json;

    @Option(names = "--plain", description = "A line per event, no progress bars, even on a terminal.")
    boolean plain;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
      JobWatch.Mode mode = json ? JobWatch.Mode.JSON : plain || !Terminal.isInteractive() ? JobWatch.Mode.PLAIN
          : JobWatch.Mode.LIVE;
      return new JobWatch(console.client(), job, spec.commandLine().getOut(), mode).run();
    }
  }

  /** A job's status in a few lines a person reads. */
  static void printSummary(JsonNode status) {
    System.out.printf(Locale.ROOT, "job %s: %s, %d of %d rounds; %s, %s, codec %s; sites online: %s%n",
        status.get("job").asText(), status.get("state").asText(), status.get("roundsCompleted").asInt(),
        status.get("roundsPlanned").asInt(), status.get("aggregator").asText(), status.get("outer").asText(),
        status.get("codec").asText(), String.join(", ", JSON.convertValue(status.get("sites"), String[].class)));
    for (JsonNode round : status.get("rounds")) {
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  round %d %s: %s", round.get("round").asLong(),
          round.get("state").asText(), String.join(", ", JSON.convertValue(round.get("acceptedSites"), String[].class))));
      for (JsonNode refused : round.get("refusedSites")) {
        line.append("; refused ").append(refused.get("site").asText()).append(" (")
            .append(refused.get("reason").asText()).append(')');
      }
      if (!round.get("heldOutLoss").isNull()) {
        line.append(String.format(Locale.ROOT, "; held-out loss %.4f", round.get("heldOutLoss").asDouble()));
      }
      line.append("; checkpoint ").append(round.get("checkpoint").asText(), 0, 12);
      System.out.println(line);
    }
  }

  abstract static class Control implements Callable<Integer> {
    @Mixin AdminCommand.Connection connection = new AdminCommand.Connection();

    @Parameters(index = "0", paramLabel = "JOB", description = "The job's id.")
    String job;

    abstract ControlJobRequest.Action action();

    @Override
    public Integer call() throws IOException {
      String reply = connection.call(stub -> stub.controlJob(ControlJobRequest.newBuilder().setAction(action())
          .setJobId(job).build())).getJson();
      JsonNode status = JSON.readTree(reply);
      System.out.println("job " + job + ": " + status.get("state").asText() + " after "
          + status.get("roundsCompleted").asInt() + " of " + status.get("roundsPlanned").asInt() + " rounds");
      return 0;
    }
  }

  @Command(name = "pause", mixinStandardHelpOptions = true,
      description = "Pauses a job: the round under way completes, no new round opens until 'resume'.")
  static final class Pause extends Control {
    @Override
    ControlJobRequest.Action action() {
      return ControlJobRequest.Action.PAUSE;
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resumes a paused job.")
  static final class Resume extends Control {
    @Override
    ControlJobRequest.Action action() {
      return ControlJobRequest.Action.RESUME;
    }
  }

  @Command(name = "cancel", mixinStandardHelpOptions = true,
      description = "Cancels a job after the round under way; its checkpoints stay.")
  static final class Cancel extends Control {
    @Override
    ControlJobRequest.Action action() {
      return ControlJobRequest.Action.CANCEL;
    }
  }
}
