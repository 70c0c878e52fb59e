package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code hanse} script a person runs: its first line is Hanse's, never the JVM's warning about
 * the incubator module the kernels load, and what the launcher writes to standard error still
 * arrives. Runs the script itself, with the launcher this build packaged.
 */
class HanseScriptIT {
  private static final Path SCRIPT = Path.of("../hanse").toAbsolutePath().normalize();

  @TempDir Path dir;

  private record Ran(int exit, List<String> out, List<String> err) {}

  private Ran run(String... args) throws Exception {
    Path out = dir.resolve("out");
    Path err = dir.resolve("err");
    List<String> command = new java.util.ArrayList<>(List.of("bash", SCRIPT.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertTrue(process.waitFor(2, TimeUnit.MINUTES), "hanse " + String.join(" ", args) + " did not end");
    return new Ran(process.exitValue(), Files.readAllLines(out), Files.readAllLines(err));
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
    assertTrue(refused.err().size() > 0 && refused.err().get(0).startsWith("Unmatched argument"),
        refused.err().toString());
    assertTrue(refused.err().stream().noneMatch(line -> line.startsWith("WARNING")), refused.err().toString());
  }
}
