package eu.hanse.agent.trainer;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** Runs the trainer as a child process of the agent, on the agent's own machine. */
public final class LocalProcess implements TrainerLauncher {
  /** How often a running trainer is checked for a request to stop. */
  private static final long LOOK_MILLIS = 250;

  @Override
  public Usage run(Run run) {
    ProcessBuilder builder = new ProcessBuilder(run.command()).directory(run.folder().toFile())
        .redirectErrorStream(true).redirectOutput(run.log().toFile());
    builder.environment().putAll(run.environment());
    long started = System.nanoTime();
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new ExternalTrainer.Failure(ExternalTrainer.Reason.NOT_STARTED, "cannot start the trainer "
          + run.command().get(0) + ": " + e.getMessage());
    }
    run.phases().accept("train");
    long deadline = started + run.limit().toNanos();
    try {
      while (!process.waitFor(LOOK_MILLIS, TimeUnit.MILLISECONDS)) {
        if (run.stop().reason().isPresent()) {
          stop(process);
          throw new ExternalTrainer.Failure(ExternalTrainer.Reason.CANCELLED, "the trainer was stopped: "
              + run.stop().reason().get());
        }
        if (System.nanoTime() > deadline) {
          stop(process);
          throw new ExternalTrainer.Failure(ExternalTrainer.Reason.TIMED_OUT, "the trainer ran past its limit of "
              + run.limit().toSeconds() + " s and was stopped" + ExternalTrainer.tail(run.log()));
        }
      }
    } catch (InterruptedException e) {
      stop(process);
      Thread.currentThread().interrupt();
      throw new ExternalTrainer.Failure(ExternalTrainer.Reason.CANCELLED, "the agent stopped while the trainer ran");
    }
    if (process.exitValue() != 0) {
      throw new ExternalTrainer.Failure(ExternalTrainer.Reason.EXITED, "the trainer exited with status "
          + process.exitValue() + ExternalTrainer.tail(run.log()));
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    return new Usage(0, seconds, seconds);
  }

  @Override
  public String describe() {
    return "a process on this machine";
  }

  /** Stops the trainer and whatever it started. */
  private static void stop(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
