package eu.hanse.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed PTX is built from the CUDA sources as they are now, and rebuilds the same way. */
class PtxSourcesTest {
  private static final Path SOURCE = Path.of("src/main/cuda/hanse_kernels.cu");
  private static final String RESOURCE = "/eu/hanse/kernels/cuda/hanse_kernels.ptx";
  private static final String STAMP = "// hanse-source-sha256: ";

  private static String ptx() throws Exception {
    try (InputStream in = PtxSourcesTest.class.getResourceAsStream(RESOURCE)) {
      assertNotNull(in, "the PTX is not on the class path: run kernels/src/main/cuda/build-ptx.sh");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void thePtxWasBuiltFromTheCurrentSources() throws Exception {
    String firstLine = ptx().lines().findFirst().orElse("");
    assertTrue(firstLine.startsWith(STAMP), "the PTX does not record its source: " + firstLine);
    String sourceHash = HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(SOURCE)));
    assertEquals(sourceHash, firstLine.substring(STAMP.length()),
        SOURCE + " changed since the PTX was built: run kernels/src/main/cuda/build-ptx.sh and commit the result");
  }

  @Test
  void thePtxHasAnEntryForEveryKernel() throws Exception {
    List<String> kernels = new ArrayList<>();
    Matcher global = Pattern.compile("__global__\\s+void\\s+(\\w+)\\s*\\(").matcher(Files.readString(SOURCE));
    while (global.find()) {
      kernels.add(global.group(1));
    }
    assertFalse(kernels.isEmpty());
    String ptx = ptx();
    for (String kernel : kernels) {
      assertTrue(ptx.contains(".entry " + kernel + "("), "no PTX entry for " + kernel);
    }
  }

  @Test
  void nvccRebuildsTheSamePtx(@TempDir Path dir) throws Exception {
    Path nvcc = Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc")) ? Path.of("/usr/local/cuda/bin/nvcc")
        : Path.of("/usr/local/bin/nvcc");
    Assumptions.assumeTrue(Files.isExecutable(nvcc), "nvcc is not installed here: the PTX rebuild check is skipped");
    Path out = dir.resolve("rebuilt.ptx");
    Process build = new ProcessBuilder(nvcc.toString(), "-ptx", "-arch=sm_90", "-O3", "-fmad=false", "-o", out.toString(),
        SOURCE.toString()).redirectErrorStream(true).start();
    String log = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(build.waitFor(2, TimeUnit.MINUTES) && build.exitValue() == 0, "nvcc failed: " + log);
    String committed = ptx();
    assertEquals(committed.substring(committed.indexOf('\n') + 1), Files.readString(out),
        "the committed PTX differs from what nvcc builds now: run kernels/src/main/cuda/build-ptx.sh");
  }
}
