package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The {@code hanse} script a person runs: its first line is Hanse's, never the JVM's warning about
 * the incubator module the kernels load, and what the launcher writes to standard error still
 * arrives. Runs the script itself, with the launcher this build packaged.
 */
class HanseScriptIT {
  private static final Path SCRIPT = Path.of("../hanse").toAbsolutePath().normalize();

  private record Ran(int exit, List<String> out, List<String> err) {}

  /**
   * Runs the script and reads both streams to their end: standard error ends when the script's
   * filter has passed on its last line, which may be a moment after the JVM exits.
   */
  private Ran run(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("bash", SCRIPT.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File(
        "/dev/null"))).start();
    CompletableFuture<List<String>> err = CompletableFuture.supplyAsync(() -> lines(process.getErrorStream()));
    List<String> out = lines(process.getInputStream());
    assertTrue(process.waitFor(2, TimeUnit.MINUTES), "hanse " + String.join(" ", args) + " did not end");
    return new Ran(process.exitValue(), out, err.get(2, TimeUnit.MINUTES));
  }

  private static List<String> lines(java.io.InputStream stream) {
    try (var reader = new java.io.BufferedReader(new java.io.InputStreamReader(stream, StandardCharsets.UTF_8))) {
      return reader.lines().toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void helpStartsWithHansesOwnLineAndNoJvmWarning() throws Exception {
    Ran help = run("--help");
    assertEquals(0, help.exit(), help.toString());
    assertTrue(help.out().get(0).startsWith("Usage: hanse"), help.out().toString());
    assertTrue(help.err().stream().noneMatch(line -> line.startsWith("WARNING")), help.err().toString());
  }

  @Test
  void theLaunchersOwnErrorsStillReachStandardError() throws Exception {
    Ran refused = run("job", "show");
    assertEquals(2, refused.exit(), refused.toString());
    assertTrue(refused.err().stream().anyMatch(line -> line.startsWith("Unmatched argument")),
        refused.err().toString());
    assertTrue(refused.err().stream().noneMatch(line -> line.startsWith("WARNING")), refused.err().toString());
  }
}
