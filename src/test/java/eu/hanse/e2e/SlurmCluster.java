package eu.hanse.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real single-node Slurm cluster for tests, from Debian's packages (slurm-wlm, slurmdbd, munge,
 * mariadb-server): munged on a socket of its own, a MariaDB server for the accounting database,
 * slurmdbd, slurmctld and slurmd, each started in the foreground with its files under one folder,
 * listening on 127.0.0.1 only, and stopped by {@link #close()}. The node offers two GPUs as far as
 * Slurm's accounting is concerned (device files standing for them), in partition {@value #PARTITION}.
 * Tests reach it through {@link #binDir()}: sbatch, squeue, sacct and scancel with this cluster's
 * configuration.
 */
final class SlurmCluster implements AutoCloseable {
  static final String PARTITION = "gpu";
  static final String ACCOUNT = "hanse-test";
  private static final String NODE = "localhost";
  private static final List<String> PROGRAMS = List.of("/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/slurmdbd",
      "/usr/sbin/munged", "/usr/sbin/mariadbd", "/usr/bin/mariadb-install-db", "/usr/bin/mariadb", "/usr/bin/sbatch",
      "/usr/bin/sacctmgr", "/usr/bin/gcc");

  private final Path dir;
  private final List<Process> daemons = new ArrayList<>();
  private final Map<String, Integer> ports;

  /** Why a cluster cannot be started here, or null if it can: the programs, and root to run slurmd. */
  static String missing() {
    List<String> absent = PROGRAMS.stream().filter(program -> !Files.isExecutable(Path.of(program))).toList();
    if (!absent.isEmpty()) {
      return "not installed: " + absent + " (Debian: slurm-wlm slurmdbd munge mariadb-server gcc; .ci/run installs them)";
    }
    if (!"root".equals(System.getProperty("user.name"))) {
      return "slurmd must run as root, and the tests run as " + System.getProperty("user.name");
    }
    return null;
  }

  private SlurmCluster(Path dir) throws Exception {
    this.dir = dir;
    this.ports = Map.of("slurmctld", TestFederation.freePort(), "slurmd", TestFederation.freePort(),
        "slurmdbd", TestFederation.freePort(), "mariadb", TestFederation.freePort());
  }

  /** Starts a cluster with its files in {@code dir}; stops what it started if any part fails. */
  static SlurmCluster start(Path dir) throws Exception {
    SlurmCluster cluster = new SlurmCluster(dir);
    try {
      cluster.startAll();
      return cluster;
    } catch (Exception | Error e) {
      cluster.close();
      throw e;
    }
  }

  private void startAll() throws Exception {
    for (String folder : List.of("munge", "db", "state", "spool", "log", "bin")) {
      Files.createDirectories(dir.resolve(folder));
    }
    startMunge();
    startMariaDb();
    writeConfiguration();
    writeWrappers();
    Path shim = dir.resolve("bind_loopback.so");
    Path source = dir.resolve("bind_loopback.c");
    try (var in = SlurmCluster.class.getResourceAsStream("/slurm/bind_loopback.c")) {
      Files.write(source, in.readAllBytes());
    }
    run(List.of("/usr/bin/gcc", "-shared", "-fPIC", "-O2", "-o", shim.toString(), source.toString(), "-ldl"));
    daemon("slurmdbd", List.of("/usr/sbin/slurmdbd", "-D"), Map.of("LD_PRELOAD", shim.toString()));
    await("slurmdbd listening", () -> listening(ports.get("slurmdbd")));
    for (String add : List.of("cluster hansetest", "account " + ACCOUNT + " Cluster=hansetest",
        "user root Account=" + ACCOUNT)) {
      List<String> command = new ArrayList<>(List.of(bin("sacctmgr"), "-i", "add"));
      command.addAll(List.of(add.split(" ")));
      run(command);
    }
    daemon("slurmctld", List.of("/usr/sbin/slurmctld", "-D"), Map.of());
    await("slurmctld listening", () -> listening(ports.get("slurmctld")));
    daemon("slurmd", List.of("/usr/sbin/slurmd", "-D", "-N", NODE), Map.of());
    await("node " + NODE + " idle", () -> {
      try {
        return run(List.of(bin("sinfo"), "-h", "-n", NODE, "-o", "%T")).strip().equals("idle");
      } catch (IOException e) {
        return false;
      }
    });
  }

  private void startMunge() throws Exception {
    Path key = dir.resolve("munge/munge.key");
    byte[] bytes = new byte[1024];
    new SecureRandom().nextBytes(bytes);
    Files.write(key, bytes);
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("r--------"));
    Files.setPosixFilePermissions(dir.resolve("munge"), PosixFilePermissions.fromString("rwx------"));
    daemon("munged", List.of("/usr/sbin/munged", "-F", "--force", "--socket=" + mungeSocket(), "--key-file=" + key,
        "--log-file=" + dir.resolve("log/munged.log"), "--pid-file=" + dir.resolve("munge/munged.pid"),
        "--seed-file=" + dir.resolve("munge/munged.seed")), Map.of());
    await("munged's socket", () -> Files.exists(mungeSocket()));
  }

  private Path mungeSocket() {
    return dir.resolve("munge/munge.socket");
  }

  private void startMariaDb() throws Exception {
    run(List.of("/usr/bin/mariadb-install-db", "--no-defaults", "--datadir=" + dir.resolve("db"), "--user=root",
        "--auth-root-authentication-method=normal", "--skip-test-db"));
    daemon("mariadbd", List.of("/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + dir.resolve("db"), "--user=root",
        "--bind-address=127.0.0.1", "--port=" + ports.get("mariadb"), "--socket=" + dir.resolve("mysql.sock"),
        "--pid-file=" + dir.resolve("mysql.pid"), "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
        "--log-error=" + dir.resolve("log/mariadb.err")), Map.of());
    await("MariaDB listening", () -> listening(ports.get("mariadb")));
    run(List.of("/usr/bin/mariadb", "--no-defaults", "-S", dir.resolve("mysql.sock").toString(), "-uroot", "-e",
        "CREATE DATABASE slurm_acct"));
  }

  private void writeConfiguration() throws IOException {
    Path gpus = dir.resolve("gpu0");
    for (String device : List.of("gpu0", "gpu1")) {
      // Character devices (those of /dev/null) standing for GPUs: Slurm counts a GPU by its device file.
      run(List.of("/usr/bin/mknod", dir.resolve(device).toString(), "c", "1", "3"));
    }
    Files.writeString(dir.resolve("gres.conf"), "NodeName=" + NODE + " Name=gpu File=" + gpus.getParent()
        .resolve("gpu[0-1]") + "\n");
    Files.writeString(dir.resolve("slurm.conf"), String.join("\n",
        "ClusterName=hansetest",
        "SlurmctldHost=" + NODE + "(127.0.0.1)",
        "SlurmctldPort=" + ports.get("slurmctld"),
        "SlurmdPort=" + ports.get("slurmd"),
        "SlurmUser=root",
        "AuthType=auth/munge",
        "AuthInfo=socket=" + mungeSocket(),
        "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny",
        "StateSaveLocation=" + dir.resolve("state"),
        "SlurmdSpoolDir=" + dir.resolve("spool"),
        "SlurmctldPidFile=" + dir.resolve("slurmctld.pid"),
        "SlurmdPidFile=" + dir.resolve("slurmd.pid"),
        "SlurmctldLogFile=" + dir.resolve("log/slurmctld.log"),
        "SlurmdLogFile=" + dir.resolve("log/slurmd.log"),
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/linux",
        "AccountingStorageType=accounting_storage/slurmdbd",
        "AccountingStorageHost=" + NODE,
        "AccountingStoragePort=" + ports.get("slurmdbd"),
        "AccountingStoragePass=" + mungeSocket(),
        "AccountingStorageTRES=gres/gpu",
        "AccountingStorageEnforce=associations",
        "GresTypes=gpu",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "MpiDefault=none",
        "ReturnToService=2",
        "SchedulerType=sched/backfill",
        "MinJobAge=5",
        "NodeName=" + NODE + " NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 Gres=gpu:2 State=UNKNOWN",
        "PartitionName=" + PARTITION + " Nodes=" + NODE + " Default=YES MaxTime=INFINITE State=UP", ""));
    Path dbd = dir.resolve("slurmdbd.conf");
    Files.writeString(dbd, String.join("\n",
        "AuthType=auth/munge",
        "AuthInfo=socket=" + mungeSocket(),
        "DbdAddr=127.0.0.1",
        "DbdHost=" + NODE,
        "DbdPort=" + ports.get("slurmdbd"),
        "SlurmUser=root",
        "StorageType=accounting_storage/mysql",
        "StorageHost=127.0.0.1",
        "StoragePort=" + ports.get("mariadb"),
        "StorageUser=root",
        "StorageLoc=slurm_acct",
        "PidFile=" + dir.resolve("slurmdbd.pid"),
        "LogFile=" + dir.resolve("log/slurmdbd.log"), ""));
    Files.setPosixFilePermissions(dbd, PosixFilePermissions.fromString("rw-------"));
  }

  /** sbatch, squeue, sacct, scancel, sinfo and sacctmgr, each with this cluster's configuration. */
  private void writeWrappers() throws IOException {
    for (String command : List.of("sbatch", "squeue", "sacct", "scancel", "sinfo", "sacctmgr")) {
      Path wrapper = binDir().resolve(command);
      Files.writeString(wrapper, "#!/bin/sh\nSLURM_CONF=" + dir.resolve("slurm.conf") + " exec /usr/bin/" + command
          + " \"$@\"\n");
      Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }

  /** Where sbatch, squeue, sacct and scancel for this cluster are. */
  Path binDir() {
    return dir.resolve("bin");
  }

  private String bin(String command) {
    return binDir().resolve(command).toString();
  }

  /** The ports the cluster's daemons listen on, by daemon. */
  Map<String, Integer> ports() {
    return ports;
  }

  /** Runs one of the cluster's commands (e.g. "squeue") and returns what it printed. */
  String slurm(String command, String... arguments) throws IOException {
    List<String> line = new ArrayList<>(List.of(bin(command)));
    line.addAll(List.of(arguments));
    return run(line);
  }

  private void daemon(String name, List<String> command, Map<String, String> environment) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("log/" + name + ".out").toFile());
    builder.environment().put("SLURM_CONF", dir.resolve("slurm.conf").toString());
    builder.environment().putAll(environment);
    daemons.add(builder.start());
  }

  private String run(List<String> command) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("SLURM_CONF", dir.resolve("slurm.conf").toString());
    Process process = builder.start();
    try {
      String output = new String(process.getInputStream().readAllBytes());
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IOException(command + " failed: " + output);
      }
      return output;
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  private static boolean listening(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private void await(String what, BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      for (Process daemon : daemons) {
        if (!daemon.isAlive()) {
          throw new IllegalStateException("a Slurm daemon exited while waiting for " + what + "; logs in "
              + dir.resolve("log") + ": " + logTail());
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no " + what + " after 60 s; logs in " + dir.resolve("log") + ": " + logTail());
      }
      Thread.sleep(200);
    }
  }

  private String logTail() {
    StringBuilder tail = new StringBuilder();
    try (var files = Files.list(dir.resolve("log"))) {
      for (Path file : files.sorted().toList()) {
        List<String> lines = Files.readAllLines(file);
        tail.append("\n== ").append(file.getFileName()).append('\n')
            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 8), lines.size())));
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      tail.append(e.getMessage());
    }
    return tail.toString();
  }

  /** Cancels every job still there, then stops every daemon, the last started first, and waits for each to end. */
  @Override
  public void close() {
    if (daemons.size() >= 5 && daemons.stream().allMatch(Process::isAlive)) {
      try {
        slurm("scancel", "--user=root");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!slurm("squeue", "-h").isBlank() && System.nanoTime() < deadline) {
          Thread.sleep(500);
        }
      } catch (IOException e) {
        // Stopping the daemons is what matters now.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (Process daemon : daemons.reversed()) {
      daemon.destroy();
      try {
        if (!daemon.waitFor(20, TimeUnit.SECONDS)) {
          daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
