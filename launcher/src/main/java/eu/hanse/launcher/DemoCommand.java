package eu.hanse.launcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import eu.hanse.agent.AgentConfig;
import eu.hanse.agent.Attack;
import eu.hanse.agent.data.SiteData;
import eu.hanse.agent.data.SyntheticLanguage;
import eu.hanse.agent.data.TextFolder;
import eu.hanse.agent.trainer.HeldOutLoss;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.jobfile.JobFileWriter;
import eu.hanse.kernels.Device;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.security.NodeIdentity;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Runs a whole federation on this machine: a throw-away consortium CA, a coordinator and three site agents (jupiter, leonardo, marenostrum) as separate processes talking gRPC over mutual TLS on 127.0.0.1. Each site trains the built-in character model on its own text. Afterwards each site also trains alone for the same number of steps, and the held-out losses are compared on the union of the three sites' held-out text. Round 1 opens once all three sites are online (unless --start-sites says otherwise). Everything it starts stops with it, Ctrl-C included.")
final class DemoCommand implements Callable<Integer> {
  static final List<String> SITES = List.of("jupiter", "leonardo", "marenostrum");
  private static final String MARKER = ".hanse-demo";

  @Option(names = "--work-dir", defaultValue = "demo-run", paramLabel = "DIR",
      description = "Where the CA, certificates, checkpoints and logs go; emptied first (default: ${DEFAULT-VALUE}).")
  Path workDir;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write a summary of the run as JSON to FILE.")
  Path json;

  @Option(names = "--corpus", paramLabel = "SITE=DIR",
      description = "Make SITE train on the UTF-8 text files in DIR instead of its synthetic language; repeatable.")
  Map<String, Path> corpora = new LinkedHashMap<>();

  @Option(names = "--attack", paramLabel = "SITE:KIND",
      description = "Make SITE send a malicious update every round, to try the robust aggregators: sign-flip, "
          + "scale:F (e.g. scale:100) or random.")
  String attack;

  @Option(names = "--synthetic-chars", defaultValue = "" + AgentConfig.DEFAULT_SYNTHETIC_CHARACTERS, paramLabel = "N",
      description = "Characters of each synthetic corpus, a tenth held out (default: ${DEFAULT-VALUE}).")
  int syntheticChars;

  @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu", converter = DeviceConverter.class,
      description = "Where each site agent trains: auto (the GPU when one works, else the CPU), cpu, or gpu "
          + "(the agents refuse to start without a working GPU). The line 'sites online' names each site's device "
          + "(default: ${DEFAULT-VALUE}).")
  Device device;

  @Option(names = "--threads-per-site", defaultValue = "1", paramLabel = "N",
      description = "CPU threads each site agent trains with on the CPU (default: ${DEFAULT-VALUE}).")
  int threadsPerSite;

  @Option(names = "--skip-site-alone",
      description = "Skip the comparison with each site training alone.")
  boolean skipSiteAlone;

  @Option(names = "--parent-pid", hidden = true, description = "Unused; accepted for symmetry with the children.")
  Long parentPid;

  @Mixin JobOptions job = new JobOptions();

  @Mixin ModelOptions model = new ModelOptions();

  @Override
  public Integer call() throws Exception {
    // The demo's own log lines (certificates issued) would bury the progress; the children log to files.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    PrintStream out = System.out;
    for (String site : corpora.keySet()) {
      if (!SITES.contains(site)) {
        throw new IllegalArgumentException("--corpus names site '" + site + "'; the demo's sites are " + SITES);
      }
    }
    String attackedSite = null;
    String attackKind = null;
    if (attack != null) {
      int colon = attack.indexOf(':');
      attackedSite = colon < 0 ? attack : attack.substring(0, colon);
      attackKind = colon < 0 ? "" : attack.substring(colon + 1);
      if (!SITES.contains(attackedSite)) {
        throw new IllegalArgumentException("--attack names site '" + attackedSite + "'; the demo's sites are " + SITES);
      }
      Attack.parse(attackKind);
    }
    if (job.startSites == null) {
      job.startSites = SITES.size();
    }
    JobSpec spec = job.spec();
    model.config();
    long started = System.nanoTime();
    prepareWorkDir();
    JobStatus status;
    try (ChildProcesses children = new ChildProcesses()) {
      LocalFederation federation = new LocalFederation(workDir, children, "Hanse demo consortium");
      Path coordinatorDir = federation.coordinatorDir();
      Path logs = federation.logs();
      out.printf("Hanse demo: coordinator and %d site agents as separate processes, gRPC over mutual TLS on 127.0.0.1%n",
          SITES.size());
      out.printf("  throw-away consortium CA in %s; logs in %s%n", coordinatorDir.resolve("ca"), logs);
      // A training lead's day: the job is a file, submitted to a running coordinator, then watched, paused, resumed.
      Path jobFile = workDir.resolve("job.yaml");
      Files.writeString(jobFile, "# The demo's job, as a training lead writes it (docs/jobs.md).\n"
          + JobFileWriter.write(spec, model.shape()), StandardCharsets.UTF_8);
      Path lead = workDir.resolve("lead");
      CaCommand.IssueAdmin.issue(NodeIdentity.lead("lead"), coordinatorDir, lead, 1);
      Process coordinator = federation.startCoordinator(List.of("--exit-when-done"), Map.of(), out);
      String address = federation.address();
      federation.enrol(SITES);
      out.printf("  %d sites enrolled with one-time invitations; each made its own keys%n", SITES.size());
      Map<String, Process> agents = new LinkedHashMap<>();
      for (String site : SITES) {
        List<String> args = new ArrayList<>(List.of("--device", device.toString(), "--threads",
            Integer.toString(threadsPerSite), "--synthetic-chars", Integer.toString(syntheticChars),
            "--exit-when-finished"));
        if (corpora.containsKey(site)) {
          args.addAll(List.of("--corpus", corpora.get(site).toString()));
        }
        if (site.equals(attackedSite)) {
          args.addAll(List.of("--attack", attackKind));
        }
        agents.put(site, federation.startAgent(site, args, Map.of()));
        out.printf("  site %-12s agent pid %d, data %s%s%n", site, agents.get(site).pid(),
            corpora.containsKey(site) ? corpora.get(site) : "synthetic language of " + site,
            site.equals(attackedSite) ? "; ATTACKS: sends " + attackKind + " updates" : "");
      }
      LeadSession session = new LeadSession(children, address, lead, logs, out);
      session.run("job", "submit", jobFile.toString());
      int exit = awaitCoordinator(coordinator, agents, logs, session, federation, spec);
      status = federation.status(spec.id().value());
      for (Process agent : agents.values()) {
        agent.waitFor(10, TimeUnit.SECONDS);
      }
      if (exit != 0 || !JobStatus.FINISHED.equals(status.state())) {
        out.println("The federation did not finish (coordinator exit " + exit + ", job " + status.state()
            + "); see " + logs);
        return 1;
      }
    }

    ModelState initial = Safetensors.read(Path.of(status.initialCheckpoint()));
    ModelState federated = Safetensors.read(Path.of(status.finalCheckpoint()));
    SiteComparison comparison = new SiteComparison(siteData(), spec);
    Map<String, HeldOutLoss> siteLosses = comparison.siteLosses(federated);
    double federatedLoss = SiteComparison.unionLoss(siteLosses.values());
    Map<String, Double> aloneLoss = new LinkedHashMap<>();
    if (!skipSiteAlone) {
      long steps = (long) spec.rounds() * spec.localSteps();
      out.printf("%nTraining each site alone for %d steps (the same local steps, no federation)...%n", steps);
      aloneLoss = comparison.siteAloneLosses(initial, Math.toIntExact(steps));
    }
    printComparison(out, federatedLoss, aloneLoss);
    if (attackedSite != null) {
      String attacker = attackedSite;
      List<String> honest = SITES.stream().filter(site -> !site.equals(attacker)).toList();
      out.printf(Locale.ROOT, "  %-22s %.4f   (the attacker's own data never reached the model)%n",
          "on honest sites' text", SiteComparison.unionLoss(honest.stream().map(siteLosses::get).toList()));
    }
    out.println("Final checkpoint (safetensors): " + status.finalCheckpoint());
    out.printf(Locale.ROOT, "Demo took %.1f s.%n", (System.nanoTime() - started) / 1e9);
    if (json != null) {
      writeJson(status, federatedLoss, siteLosses, aloneLoss);
      out.println("Summary written to " + json);
    }
    return 0;
  }

  private Map<String, SiteData> siteData() {
    Map<String, SiteData> data = new LinkedHashMap<>();
    for (String site : SITES) {
      data.put(site, corpora.containsKey(site) ? TextFolder.read(corpora.get(site))
          : SyntheticLanguage.siteData(site, syntheticChars));
    }
    return data;
  }

  private void printComparison(PrintStream out, double federatedLoss, Map<String, Double> aloneLoss) {
    out.printf("%nHeld-out loss on the union of the %d sites' held-out text (lower is better):%n", SITES.size());
    out.printf(Locale.ROOT, "  %-22s %.4f%n", "federated (all sites)", federatedLoss);
    aloneLoss.forEach((site, loss) -> out.printf(Locale.ROOT, "  %-22s %.4f%n", site + " alone", loss));
    if (!aloneLoss.isEmpty()) {
      double bestAlone = aloneLoss.values().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
      out.println(federatedLoss < bestAlone
          ? String.format(Locale.ROOT, "The federated model is the best: %.4f below the best site alone.", bestAlone - federatedLoss)
          : "The federated model is NOT the best here: a site alone did as well or better.");
    }
  }

  private void writeJson(JobStatus status, double federatedLoss, Map<String, HeldOutLoss> siteLosses,
      Map<String, Double> aloneLoss) throws IOException {
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("sites", SITES);
    summary.put("roundsCompleted", status.roundsCompleted());
    summary.put("heldOutLoss", status.heldOutLoss());
    summary.put("federatedHeldOutLoss", federatedLoss);
    summary.put("siteAloneHeldOutLoss", aloneLoss);
    Map<String, Map<String, Object>> perSite = new LinkedHashMap<>();
    siteLosses.forEach((site, loss) -> perSite.put(site, Map.of("loss", loss.loss(), "samples", loss.samples())));
    summary.put("siteHeldOutLoss", perSite);
    summary.put("aggregator", status.aggregator());
    summary.put("filters", status.filters());
    summary.put("attack", attack);
    summary.put("bytesUploaded", status.bytesUploaded());
    summary.put("mtls", status.mutualTls());
    summary.put("checkpoint", status.finalCheckpoint());
    summary.put("outer", status.outer());
    summary.put("rounds", status.rounds());
    Path parent = json.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), summary);
  }

  /** Empties the work directory, but only if it is missing, empty, or an earlier demo's. */
  private void prepareWorkDir() throws IOException {
    if (Files.isDirectory(workDir)) {
      boolean empty;
      try (var entries = Files.list(workDir)) {
        empty = entries.findAny().isEmpty();
      }
      if (!empty && !Files.exists(workDir.resolve(MARKER))) {
        throw new IllegalArgumentException("work directory " + workDir
            + " is not empty and was not made by the demo; choose another with --work-dir");
      }
      try (var walk = Files.walk(workDir)) {
        for (Path path : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
          if (!path.equals(workDir)) {
            Files.delete(path);
          }
        }
      }
    }
    Files.createDirectories(workDir);
    Files.writeString(workDir.resolve(MARKER), "made by 'hanse demo'; emptied by the next run\n");
  }

  /**
   * Waits for the coordinator; gives up if an agent dies first, since the job could never finish.
   * After round 1 of a job of five rounds or more the lead pauses it, looks at it, and resumes it
   * (the pause takes effect after the round under way).
   */
  private static int awaitCoordinator(Process coordinator, Map<String, Process> agents, Path logs, LeadSession lead,
      LocalFederation federation, JobSpec spec) throws Exception {
    boolean paused = spec.rounds() < 5;
    while (!coordinator.waitFor(200, TimeUnit.MILLISECONDS)) {
      if (!paused && roundsCompleted(federation, spec) >= 1) {
        paused = true;
        if (lead.tryRun("job", "pause", spec.id().value())) {
          Thread.sleep(1500);
          lead.tryRun("job", "status", spec.id().value());
          lead.tryRun("job", "resume", spec.id().value());
        }
      }
      for (Map.Entry<String, Process> agent : agents.entrySet()) {
        if (!agent.getValue().isAlive() && agent.getValue().exitValue() != 0) {
          throw new IllegalStateException("site agent " + agent.getKey() + " exited with " + agent.getValue().exitValue()
              + ": " + LocalFederation.tail(logs.resolve("agent-" + agent.getKey() + ".log")));
        }
      }
    }
    return coordinator.exitValue();
  }

  private static int roundsCompleted(LocalFederation federation, JobSpec spec) {
    try {
      return federation.status(spec.id().value()).roundsCompleted();
    } catch (IOException | IllegalStateException e) {
      return 0; // Not written yet, or being replaced.
    }
  }
}
