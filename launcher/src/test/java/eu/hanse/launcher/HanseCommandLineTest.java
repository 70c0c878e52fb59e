package eu.hanse.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.aggregation.OuterOptimizerSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

class HanseCommandLineTest {
  @TempDir Path dir;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine commandLine = Hanse.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    commandLine.setOut(new PrintWriter(out));
    commandLine.setErr(new PrintWriter(err));
    int exit = commandLine.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void helpListsEveryCommand() {
    Run help = run("--help");
    assertEquals(0, help.exit());
    for (String command : List.of("demo", "coordinator", "agent", "ca")) {
      assertTrue(help.out().contains("  " + command), help.out());
    }
  }

  @Test
  void everyOptionOfEveryCommandSaysWhatItDoes() {
    List<String> undocumented = new ArrayList<>();
    collectUndocumented(Hanse.commandLine(), undocumented);
    assertEquals(List.of(), undocumented);
  }

  private static void collectUndocumented(CommandLine commandLine, List<String> undocumented) {
    CommandSpec spec = commandLine.getCommandSpec();
    if (spec.usageMessage().description().length == 0) {
      undocumented.add(spec.qualifiedName() + " (the command itself)");
    }
    for (OptionSpec option : spec.options()) {
      if (!option.hidden() && String.join("", option.description()).isBlank()) {
        undocumented.add(spec.qualifiedName() + " " + option.longestName());
      }
    }
    commandLine.getSubcommands().values().forEach(sub -> collectUndocumented(sub, undocumented));
  }

  @Test
  void theReadmeNamesEveryCommandAndOption() throws Exception {
    String readme = Files.readString(Path.of("..", "README.md"));
    List<String> missing = new ArrayList<>();
    collectMissing(Hanse.commandLine(), readme, missing);
    assertEquals(List.of(), missing, "README.md's command-line section is out of date");
  }

  private static void collectMissing(CommandLine commandLine, String readme, List<String> missing) {
    CommandSpec spec = commandLine.getCommandSpec();
    if (!spec.name().equals("help") && !readme.contains(spec.qualifiedName())) {
      missing.add(spec.qualifiedName());
    }
    for (OptionSpec option : spec.options()) {
      boolean standard = option.longestName().equals("--help") || option.longestName().equals("--version");
      if (!option.hidden() && !standard && !readme.contains("`" + option.longestName())) {
        missing.add(spec.qualifiedName() + " " + option.longestName());
      }
    }
    commandLine.getSubcommands().values().forEach(sub -> collectMissing(sub, readme, missing));
  }

  @Test
  void unknownOptionIsOneClearError() {
    Run bad = run("demo", "--rounds", "3", "--no-such-option");
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("Unknown option: '--no-such-option'"), bad.err());
  }

  @Test
  void demoRefusesACorpusForASiteItDoesNotRun() {
    Run bad = run("demo", "--work-dir", dir.resolve("w").toString(), "--corpus", "mars=" + dir);
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("hanse: --corpus names site 'mars'; the demo's sites are [jupiter, leonardo, marenostrum]"),
        bad.err());
  }

  @Test
  void invalidJobSettingsAreRefusedBeforeAnythingStarts() {
    Run bad = run("coordinator", "--data-dir", dir.toString(), "--rounds", "0");
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("rounds must be at least 1, was 0"), bad.err());
    Run outer = run("coordinator", "--data-dir", dir.toString(), "--outer", "adamax");
    assertTrue(outer.err().contains("unknown outer optimizer 'adamax': use sgd, nesterov, adam, yogi or adagrad"),
        outer.err());
    Run aggregator = run("coordinator", "--data-dir", dir.toString(), "--aggregator", "krum:x");
    assertEquals(2, aggregator.exit());
    assertTrue(aggregator.err().contains("aggregator 'krum:x'"), aggregator.err());
    Run noise = run("coordinator", "--data-dir", dir.toString(), "--dp-noise", "1");
    assertTrue(noise.err().contains("--dp-noise needs --clip"), noise.err());
    Run attack = run("demo", "--attack", "leonardo:flip");
    assertEquals(2, attack.exit());
    assertTrue(attack.err().contains("unknown attack 'flip': use sign-flip, scale:F or random"), attack.err());
  }

  @Test
  void coordinatorWithoutCertificatesSaysHowToMakeThem() {
    Run bad = run("coordinator", "--data-dir", dir.toString(), "--listen", "127.0.0.1:0");
    assertEquals(2, bad.exit());
    assertTrue(bad.err().contains("hanse ca init"), bad.err());
  }

  @Test
  void caInitWritesOwnerOnlyKeysAndNeverOverwritesWithoutForce() throws Exception {
    assertEquals(0, run("ca", "init", "--data-dir", dir.toString()).exit());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca/ca.key"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("tls/node.key"))));
    byte[] key = Files.readAllBytes(dir.resolve("ca/ca.key"));
    Run again = run("ca", "init", "--data-dir", dir.toString());
    assertEquals(2, again.exit());
    assertTrue(again.err().contains("--force"), again.err());
    assertTrue(java.util.Arrays.equals(key, Files.readAllBytes(dir.resolve("ca/ca.key"))), "CA key was replaced");

    assertTrue(Files.exists(dir.resolve("ca/checkpoint-signing.key")), "Ed25519 key for signing checkpoints");
    assertEquals("rw-------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dir.resolve("ca/checkpoint-signing.key"))));

    Run operator = run("ca", "issue-admin", "ops", "--role", "operator", "--data-dir", dir.toString(),
        "--out", dir.resolve("ops").toString());
    assertEquals(0, operator.exit(), operator.err());
    assertTrue(Files.exists(dir.resolve("ops/node.crt")));
    Run badRole = run("ca", "issue-admin", "x", "--role", "root", "--data-dir", dir.toString(), "--out", dir.resolve("x").toString());
    assertEquals(2, badRole.exit());
    assertTrue(badRole.err().contains("role must be operator, lead or viewer, was 'root'"), badRole.err());
    assertFalse(Files.exists(dir.resolve("x/node.key")));
    Run viewer = run("ca", "issue-admin", "vera", "--role", "viewer", "--data-dir", dir.toString(),
        "--out", dir.resolve("vera").toString());
    assertEquals(0, viewer.exit(), viewer.err());
    assertEquals(java.util.Optional.of(eu.hanse.security.NodeIdentity.viewer("vera")),
        eu.hanse.security.NodeIdentity.fromCertificate(eu.hanse.security.EnrolmentTls.readCertificate(
            dir.resolve("vera/node.crt"))));
  }

  @Test
  void inviteIssuesAOneTimeTokenAndRevokingAnUnknownSiteIsRefused() throws Exception {
    assertEquals(0, run("ca", "init", "--data-dir", dir.toString()).exit());
    Run invite = run("site", "invite", "jupiter", "--data-dir", dir.toString(), "--valid-for", "PT1H");
    assertEquals(0, invite.exit(), invite.err());
    String token = invite.out().strip();
    assertTrue(token.startsWith("hanse1.jupiter."), token);
    assertFalse(Files.readString(dir.resolve("enrolment/tokens.json")).contains(token.split("\\.")[2]),
        "the token's secret is not stored");
    Run revoke = run("site", "revoke", "nobody", "--data-dir", dir.toString());
    assertEquals(2, revoke.exit());
    assertTrue(revoke.err().contains("no certificate was ever issued to site nobody"), revoke.err());
    Run verify = run("audit", "verify", "--data-dir", dir.toString());
    assertEquals(0, verify.exit(), verify.out() + verify.err());
    assertTrue(verify.out().contains("intact"), verify.out());
  }

  @Test
  void auditVerifyNamesTheFirstTamperedEntry() throws Exception {
    assertEquals(0, run("ca", "init", "--data-dir", dir.toString()).exit());
    for (String site : List.of("a", "b", "c")) {
      assertEquals(0, run("site", "invite", site, "--data-dir", dir.toString()).exit());
    }
    Path trail = dir.resolve("audit/audit.log");
    List<String> lines = Files.readAllLines(trail);
    lines.set(1, lines.get(1).replace("\"site\":\"b\"", "\"site\":\"x\""));
    Files.write(trail, lines);
    Run verify = run("audit", "verify", "--data-dir", dir.toString());
    assertEquals(1, verify.exit());
    assertTrue(verify.out().contains("line 2 (seq 2)"), verify.out());
  }

  @Test
  void theOuterOptimizerDefaultsToNesterovForTheMeanAndFedAvgForRobustAggregators() {
    assertEquals(OuterOptimizerSpec.diloco(), jobOptions().spec().outer());
    assertEquals(OuterOptimizerSpec.fedAvg(), jobOptions("--aggregator", "median").spec().outer());
    assertEquals(OuterOptimizerSpec.fedAvg(), jobOptions("--aggregator", "krum:1").spec().outer());
    assertEquals(OuterOptimizerSpec.diloco(), jobOptions("--aggregator", "median", "--outer", "nesterov").spec().outer());
  }

  private static JobOptions jobOptions(String... args) {
    JobOptions options = new JobOptions();
    new CommandLine(new Object() {
      @CommandLine.Mixin JobOptions job = options;
    }).parseArgs(args);
    return options;
  }

  @Test
  void benchKernelsReportsEveryOperationAgainstACopyMeasuredInTheSameRun() throws Exception {
    Path json = dir.resolve("bench/kernels.json");
    Run bench = run("bench", "kernels", "--device", "cpu", "--elements", "20001", "--matmul-size", "17",
        "--repeats", "1", "--warm-up-ms", "0", "--threads", "1", "--json", json.toString());
    assertEquals(0, bench.exit(), bench.err());
    var report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile());
    assertEquals("cpu (1 thread)", report.get("device").asText());
    assertTrue(report.get("copyGBps").asDouble() > 0);
    for (String op : List.of("axpy", "sub", "scale", "quantizeInt8", "dequantizeInt8", "quantizeInt4", "dequantizeInt4")) {
      assertTrue(report.get("ops").get(op).get("GBps").asDouble() > 0, op);
      assertTrue(report.get("ops").get(op).get("ratioToCopy").asDouble() > 0, op);
    }
    assertTrue(report.get("ops").get("matmul").get("GFLOPs").asDouble() > 0);
    assertTrue(bench.out().contains("x copy"), bench.out());
  }

  @Test
  void benchAggregateReportsTheFoldAgainstACopyAndThePeakHeap() throws Exception {
    Path json = dir.resolve("bench/aggregate.json");
    Run bench = run("bench", "aggregate", "--sites", "3", "--params", "300001", "--repeats", "1",
        "--json", json.toString());
    assertEquals(0, bench.exit(), bench.err());
    var report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile());
    assertEquals(3, report.get("sites").asInt());
    assertEquals(4L * 300001, report.get("modelBytes").asLong());
    assertTrue(report.get("copyGBps").asDouble() > 0);
    assertTrue(report.get("aggregateGBps").asDouble() > 0);
    assertTrue(report.get("peakHeapBytes").asLong() >= 4L * 300001, "the accumulator alone is the model's size");
    for (String codec : List.of("fp32", "int8", "int4")) {
      assertTrue(report.get("codecs").get(codec).get("ratioToCopy").asDouble() > 0, codec);
    }
    assertTrue(bench.out().contains("peak heap"), bench.out());
  }

  @Test
  void benchTransportReportsEachRoundAndPassAndComparesTheWarmMedians() throws Exception {
    Path json = dir.resolve("bench/transport.json");
    Run bench = run("bench", "transport", "--bytes", "4194304", "--rounds", "3", "--heap", "256m",
        "--json", json.toString());
    assertEquals(0, bench.exit(), bench.err() + bench.out());
    var report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile());
    assertEquals(4194304, report.get("bytes").asLong());
    List<Double> updates = new java.util.ArrayList<>();
    report.get("roundUpdateMBps").forEach(rate -> updates.add(rate.asDouble()));
    List<Double> passes = new java.util.ArrayList<>();
    report.get("passRawTlsMBps").forEach(rate -> passes.add(rate.asDouble()));
    assertEquals(3, updates.size());
    assertEquals(3, passes.size());
    assertTrue(updates.stream().allMatch(rate -> rate > 0) && passes.stream().allMatch(rate -> rate > 0));
    assertEquals(FederationBenchmarks.median(updates.subList(1, 3)), report.get("updateMBps").asDouble(), 1e-9);
    assertEquals(FederationBenchmarks.median(passes.subList(1, 3)), report.get("rawTlsMBps").asDouble(), 1e-9);
    List<Double> checked = new java.util.ArrayList<>();
    report.get("passCheckedTlsMBps").forEach(rate -> checked.add(rate.asDouble()));
    assertEquals(2, checked.size());
    assertTrue(checked.stream().allMatch(rate -> rate > 0));
    assertEquals(FederationBenchmarks.median(checked), report.get("checkedTlsMBps").asDouble(), 1e-9);
    assertEquals(report.get("updateMBps").asDouble() / report.get("checkedTlsMBps").asDouble(),
        report.get("ratioToChecked").asDouble(), 1e-9);
    List<Double> grpc = new java.util.ArrayList<>();
    report.get("passCheckedGrpcMBps").forEach(rate -> grpc.add(rate.asDouble()));
    assertEquals(2, grpc.size());
    assertTrue(grpc.stream().allMatch(rate -> rate > 0));
    assertEquals(FederationBenchmarks.median(grpc), report.get("checkedGrpcMBps").asDouble(), 1e-9);
    assertEquals(updates.get(0), report.get("firstUpdateMBps").asDouble(), 1e-9);
    assertTrue(report.get("peakHeapBytes").get("coordinator").asLong() > 0);
    assertTrue(report.get("peakHeapBytes").get("agent").asLong() > 0);
    assertTrue(bench.out().contains("warm medians: update"), bench.out());
    assertTrue(bench.out().contains("what no update can exceed here: checked plain TLS"), bench.out());
  }

  @Test
  void consoleLinkOpensASessionWithTheViewersRoleAndItsLinkSignsABrowserInOnce() throws Exception {
    assertEquals(0, run("ca", "init", "--data-dir", dir.toString()).exit());
    assertEquals(0, run("ca", "issue-admin", "vera", "--role", "viewer", "--data-dir", dir.toString(),
        "--out", dir.resolve("vera").toString()).exit());
    eu.hanse.coordinator.CoordinatorConfig config = new eu.hanse.coordinator.CoordinatorConfig(dir, "127.0.0.1", 0, 0,
        eu.hanse.security.TlsFiles.in(dir.resolve("tls")));
    try (eu.hanse.coordinator.Coordinator coordinator = new eu.hanse.coordinator.Coordinator(config, new CharModels(),
        new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))) {
      coordinator.serveConsole("127.0.0.1", 0);
      coordinator.start();
      String console = "127.0.0.1:" + coordinator.consolePort();
      Run link = run("admin", "console-link", "--console", console, "--credential", dir.resolve("vera").toString());
      assertEquals(0, link.exit(), link.err());
      assertTrue(link.out().contains("You are urn:hanse:viewer:vera (viewer)"), link.out());
      String url = link.out().lines().filter(line -> line.startsWith("  https://")).findFirst().orElseThrow().strip();
      var browser = java.net.http.HttpClient.newBuilder().sslContext(javax.net.ssl.SSLContext.getDefault()).build();
      var trusting = java.net.http.HttpClient.newBuilder().sslContext(
          eu.hanse.security.TlsContexts.forHttpsClient(eu.hanse.security.TlsFiles.in(dir.resolve("vera")))).build();
      var first = trusting.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(303, first.statusCode());
      assertTrue(first.headers().firstValue("Set-Cookie").orElse("").startsWith("hanse-session="));
      assertEquals(401, trusting.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
      org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> browser.send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()), "HTTPS with the consortium's certificate, not plain");

      Run nowhere = run("admin", "console-link", "--console", "127.0.0.1:1", "--credential",
          dir.resolve("vera").toString());
      assertEquals(2, nowhere.exit());
      assertTrue(nowhere.err().contains("cannot reach the coordinator's console at https://127.0.0.1:1"), nowhere.err());
    }
  }

  @Test
  void benchTransportNeedsAColdAndAWarmRound() {
    Run bench = run("bench", "transport", "--rounds", "1");
    assertEquals(2, bench.exit(), bench.out());
    assertTrue(bench.err().contains("--rounds must be at least 2 (a cold round and a warm one), was 1"), bench.err());
  }

  @Test
  void theMedianIsTheMiddleValueOrTheMeanOfTheTwoMiddleOnes() {
    assertEquals(3.0, FederationBenchmarks.median(List.of(5.0, 1.0, 3.0)));
    assertEquals(2.5, FederationBenchmarks.median(List.of(4.0, 1.0, 2.0, 3.0)));
    assertEquals(2.0, FederationBenchmarks.lowerMedian(List.of(4.0, 1.0, 2.0, 3.0)));
    assertEquals(7.0, FederationBenchmarks.lowerMedian(List.of(7.0)));
  }

  @Test
  void deviceGpuWithoutAGpuIsOneClearErrorAndAnUnknownDeviceIsRefused() {
    Run unknown = run("bench", "kernels", "--device", "tpu");
    assertEquals(2, unknown.exit());
    assertTrue(unknown.err().contains("unknown device 'tpu': expected auto, cpu or gpu"), unknown.err());
    org.junit.jupiter.api.Assumptions.assumeFalse(
        eu.hanse.kernels.GpuBackend.available(), "this machine has a GPU, so --device gpu works here");
    Run gpu = run("bench", "kernels", "--device", "gpu", "--elements", "100", "--matmul-size", "4");
    assertEquals(2, gpu.exit(), gpu.out());
    assertTrue(gpu.err().contains("--device gpu: no usable GPU: the CUDA driver (libcuda.so.1) could not be loaded"),
        gpu.err());
  }

  @Test
  void hostPortParsesNamesAndBracketedIpv6AndRefusesTheRest() {
    assertEquals(new HostPort("127.0.0.1", 7443), HostPort.parse("127.0.0.1:7443"));
    assertEquals(new HostPort("::1", 0), HostPort.parse("[::1]:0"));
    assertThrows(IllegalArgumentException.class, () -> HostPort.parse("localhost"));
    assertThrows(IllegalArgumentException.class, () -> HostPort.parse("localhost:http"));
    assertThrows(IllegalArgumentException.class, () -> HostPort.parse("localhost:70000"));
  }
}
