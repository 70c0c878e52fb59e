package eu.hanse.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Starts {@code hanse} subcommands as separate JVMs with this JVM's class path and flags, and stops
 * every one of them when asked or when this JVM exits (Ctrl-C included). Thread-safe.
 */
final class ChildProcesses implements AutoCloseable {
  /** What every JVM started with an incubator module prints first; the parent already said it. */
  static final String INCUBATOR_NOTICE = "WARNING: Using incubator modules";

  private final List<Process> started = new ArrayList<>();
  private final Thread shutdownHook = new Thread(this::close, "hanse-stop-children");
  /** Options every child's JVM gets, after this one's: a heap cap, say. */
  private final List<String> jvmOptions;

  ChildProcesses() {
    this(List.of());
  }

  ChildProcesses(List<String> jvmOptions) {
    this.jvmOptions = List.copyOf(jvmOptions);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts {@code hanse ARGS}; stdout and stderr go to {@code log}. */
  synchronized Process start(List<String> args, Path log) throws IOException {
    return start(args, log, java.util.Map.of());
  }

  /** Starts {@code hanse ARGS} with {@code environment} added to this one's; stdout and stderr go to {@code log}. */
  synchronized Process start(List<String> args, Path log, java.util.Map<String, String> environment)
      throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command(args))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    builder.environment().putAll(environment);
    Process process = builder.start();
    started.add(process);
    return process;
  }

  /** Starts {@code hanse ARGS}; stdout is copied line by line to {@code out}, stderr goes to {@code log}. */
  synchronized Process startEchoing(List<String> args, Path log, PrintStream out) throws IOException {
    return startEchoing(args, log, out, java.util.Map.of());
  }

  /** As {@link #startEchoing(List, Path, PrintStream)}, with {@code environment} added to this one's. */
  synchronized Process startEchoing(List<String> args, Path log, PrintStream out,
      java.util.Map<String, String> environment) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command(args)).redirectError(log.toFile());
    builder.environment().putAll(environment);
    Process process = builder.start();
    started.add(process);
    Thread.ofPlatform().daemon().name("hanse-echo-" + process.pid()).start(() -> {
      try (BufferedReader lines = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = lines.readLine()) != null; ) {
          if (!line.startsWith(INCUBATOR_NOTICE)) {
            out.println(line);
          }
        }
      } catch (IOException ignored) {
        // The child ended.
      }
    });
    return process;
  }

  private List<String> command(List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (flag.startsWith("--sun-misc-unsafe-memory-access") || flag.startsWith("--enable-native-access")
          || flag.startsWith("-Xmx") || flag.startsWith("--add-modules")) {
        command.add(flag);
      }
    }
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Hanse.class.getName());
    command.addAll(args);
    command.add("--parent-pid");
    command.add(Long.toString(ProcessHandle.current().pid()));
    return command;
  }

  /** Stops every child still running: politely first, then by force after five seconds. */
  @Override
  public synchronized void close() {
    for (Process process : started) {
      process.destroy();
    }
    for (Process process : started) {
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // Called from the hook itself.
    }
  }
}
