package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import eu.hanse.security.AuditVerification.Problem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  @TempDir Path tmp;
  private Path log;
  private Path head;
  private KeyPair key;

  @BeforeEach
  void setUp() throws Exception {
    log = tmp.resolve("audit").resolve("audit.log");
    head = tmp.resolve("audit").resolve("audit.head");
    key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
  }

  @Test
  void aLongChainOfEntriesVerifies() {
    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      for (int i = 1; i <= 300; i++) {
        audit.append(i % 2 == 0 ? "update.accepted" : "update.refused",
            Map.of("site", "site-" + i % 7, "round", Integer.toString(i),
                "note", "quote \" backslash \\ newline \n unicode \u00e9\u4e2d\ud83d\ude00"));
      }
    }
    AuditVerification result = AuditLog.verify(log, key.getPublic());
    assertTrue(result.ok(), result.describe());
    assertEquals(300, result.entries());
    assertEquals("audit trail intact: 300 entries", result.describe());
  }

  @Test
  void entriesCarrySeqTimeTypeSortedFieldsAndChainedHashes() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, null)) {
      AuditEntry first = audit.append("site.enrolled", Map.of("site", "juelich", "by", "ops"));
      AuditEntry second = audit.append("site.revoked", Map.of("site", "juelich"));
      assertEquals(1, first.seq());
      assertEquals(NOW, first.time());
      assertEquals(AuditEntry.GENESIS_PREV, first.prev());
      assertEquals(2, second.seq());
      assertEquals(first.hash(), second.prev());
    }
    List<String> lines = Files.readAllLines(log, UTF_8);
    assertEquals(2, lines.size());
    JsonNode first = AuditEntryCodec.JSON.readTree(lines.get(0));
    assertEquals(List.of("seq", "time", "type", "fields", "prev", "hash"), names(first));
    assertEquals(List.of("by", "site"), names(first.get("fields")));
    assertEquals("2026-03-01T12:00:00Z", first.get("time").textValue());
    assertTrue(Files.readString(log, UTF_8).endsWith("\n"));
  }

  @Test
  void reopeningContinuesSeqAndChain() {
    AuditEntry last;
    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      audit.append("site.enrolled", Map.of("site", "juelich"));
      last = audit.append("site.enrolled", Map.of("site", "cineca"));
    }
    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      AuditEntry next = audit.append("checkpoint.committed", Map.of("round", "1"));
      assertEquals(3, next.seq());
      assertEquals(last.hash(), next.prev());
    }
    assertTrue(AuditLog.verify(log, key.getPublic()).ok());
  }

  @Test
  void aNewTrailIsEmptyAndVerifiesAndItsFilesAreOwnerOnly() throws Exception {
    AuditLog.open(log, CLOCK, key.getPrivate()).close();
    assertEquals(0, Files.size(log));
    AuditVerification result = AuditLog.verify(log, key.getPublic());
    assertTrue(result.ok(), result.describe());
    assertEquals(0, result.entries());

    Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
    for (Path file : List.of(log, head, log.resolveSibling("audit.log.lock"))) {
      assertEquals("rw-------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), file.toString());
    }
    assertEquals("rwx------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(log.getParent())));
  }

  @Test
  void concurrentAppendsFromManyThreadsKeepOneChainWithUniqueSeqs() throws Exception {
    int threads = 8;
    int perThread = 40;
    Set<Long> seqs = ConcurrentHashMap.newKeySet();
    try (AuditLog audit = AuditLog.open(log, Clock.systemUTC(), key.getPrivate())) {
      runConcurrently(threads, t -> {
        for (int i = 0; i < perThread; i++) {
          seqs.add(audit.append("update.accepted", Map.of("thread", "t" + t, "i", "" + i)).seq());
        }
      });
    }
    assertEquals(allSeqs(threads * perThread), new TreeSet<>(seqs));
    AuditVerification result = AuditLog.verify(log, key.getPublic());
    assertTrue(result.ok(), result.describe());
    assertEquals(threads * perThread, result.entries());
  }

  @Test
  void twoOpenTrailsOnOneFileTakeTurnsAndSeeEachOthersEntries() throws Exception {
    // Two objects with their own channels and cached tails, as two processes would have.
    int perWriter = 60;
    Set<Long> seqs = ConcurrentHashMap.newKeySet();
    try (AuditLog first = AuditLog.open(log, Clock.systemUTC(), key.getPrivate());
        AuditLog second = AuditLog.open(log, Clock.systemUTC(), key.getPrivate())) {
      AuditEntry a = first.append("test.appended", Map.of("writer", "first"));
      AuditEntry b = second.append("test.appended", Map.of("writer", "second"));
      assertEquals(a.seq() + 1, b.seq());
      assertEquals(a.hash(), b.prev());
      seqs.add(a.seq());
      seqs.add(b.seq());
      runConcurrently(2, t -> {
        AuditLog writer = t == 0 ? first : second;
        for (int i = 0; i < perWriter; i++) {
          seqs.add(writer.append("test.appended", Map.of("writer", "w" + t)).seq());
        }
      });
    }
    assertEquals(allSeqs(2 + 2 * perWriter), new TreeSet<>(seqs));
    assertTrue(AuditLog.verify(log, key.getPublic()).ok());
  }

  @Test
  void otherProcessesCanAppendAtTheSameTime() throws Exception {
    int perProcess = 100;
    List<String> names = List.of("child-a", "child-b");
    Path go = tmp.resolve("go");
    try (AuditLog audit = AuditLog.open(log, Clock.systemUTC(), null)) {
      List<Process> children = new ArrayList<>();
      for (String name : names) {
        children.add(new ProcessBuilder(javaExecutable(), "-cp",
                System.getProperty("java.class.path"), AuditLogAppender.class.getName(),
                log.toString(), Integer.toString(perProcess), name,
                tmp.resolve(name + ".ready").toString(), go.toString())
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve(name + ".out").toFile())
            .start());
      }
      awaitFiles(children, names.stream().map(name -> tmp.resolve(name + ".ready")).toList());
      Files.createFile(go);
      for (int i = 0; i < perProcess; i++) {
        audit.append("test.appended", Map.of("writer", "parent", "i", Integer.toString(i)));
      }
      for (int i = 0; i < children.size(); i++) {
        Process child = children.get(i);
        Path out = tmp.resolve(names.get(i) + ".out");
        assertTrue(child.waitFor(2, TimeUnit.MINUTES), "child process did not finish");
        assertEquals(0, child.exitValue(), () -> "child failed: " + readQuietly(out));
      }
    }
    AuditVerification result = AuditLog.verify(log, null);
    assertTrue(result.ok(), result.describe());
    assertEquals(3 * perProcess, result.entries());
    Map<String, Long> perWriter = new HashMap<>();
    for (String line : Files.readAllLines(log, UTF_8)) {
      perWriter.merge(AuditEntryCodec.parse(line).fields().get("writer"), 1L, Long::sum);
    }
    long count = perProcess;
    assertEquals(Map.of("parent", count, "child-a", count, "child-b", count), perWriter);
  }

  @Test
  void anOpenTrailVerifiesUnderItsOwnLock() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      audit.append("site.enrolled", Map.of("site", "a"));
      audit.append("site.enrolled", Map.of("site", "b"));
      assertTrue(audit.verify(key.getPublic()).ok());

      List<String> lines = Files.readAllLines(log, UTF_8);
      Files.writeString(log, lines.get(1) + "\n" + lines.get(0) + "\n", UTF_8);
      AuditVerification swapped = audit.verify(key.getPublic());
      assertEquals(Problem.SEQ_OUT_OF_ORDER, swapped.problem(), swapped.describe());
      assertEquals(1, swapped.line());
    }
  }

  @Test
  void openRefusesATamperedTrailNamingTheBadLine() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, null)) {
      for (int i = 1; i <= 6; i++) {
        audit.append("update.accepted", Map.of("site", "site-" + i));
      }
    }
    List<String> lines = new ArrayList<>(Files.readAllLines(log, UTF_8));
    lines.set(3, lines.get(3).replace("site-4", "site-9"));
    Files.writeString(log, String.join("\n", lines) + "\n", UTF_8);

    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> AuditLog.open(log, CLOCK, null));
    assertTrue(e.getMessage().contains("line 4 (seq 4): HASH_MISMATCH"), e.getMessage());
  }

  @Test
  void openRefusesATrailWithEntriesRemovedFromTheEnd() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      audit.append("site.enrolled", Map.of("site", "a"));
      audit.append("site.enrolled", Map.of("site", "b"));
      audit.append("site.enrolled", Map.of("site", "c"));
    }
    List<String> lines = Files.readAllLines(log, UTF_8);
    Files.writeString(log, lines.get(0) + "\n", UTF_8);

    IllegalStateException e = assertThrows(
        IllegalStateException.class, () -> AuditLog.open(log, CLOCK, key.getPrivate()));
    assertTrue(e.getMessage().contains("HEAD_MISMATCH"), e.getMessage());
  }

  @Test
  void openRefusesAHeadSignedWithAnotherKeyOrNone() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      audit.append("site.enrolled", Map.of("site", "a"));
    }
    KeyPair other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    IllegalStateException wrongKey = assertThrows(
        IllegalStateException.class, () -> AuditLog.open(log, CLOCK, other.getPrivate()));
    assertTrue(wrongKey.getMessage().contains("not signed with this key"), wrongKey.getMessage());
    IllegalStateException noKey =
        assertThrows(IllegalStateException.class, () -> AuditLog.open(log, CLOCK, null));
    assertTrue(noKey.getMessage().contains("is signed"), noKey.getMessage());
    assertTrue(AuditLog.verify(log, key.getPublic()).ok(), "a refused open changes nothing");
  }

  @Test
  void openRefusesAMissingHeadOrAMissingLog() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, null)) {
      audit.append("site.enrolled", Map.of("site", "a"));
    }
    byte[] headBytes = Files.readAllBytes(head);
    Files.delete(head);
    IllegalStateException missingHead =
        assertThrows(IllegalStateException.class, () -> AuditLog.open(log, CLOCK, null));
    assertTrue(missingHead.getMessage().contains("missing"), missingHead.getMessage());

    Files.write(head, headBytes);
    Files.delete(log);
    IllegalStateException missingLog =
        assertThrows(IllegalStateException.class, () -> AuditLog.open(log, CLOCK, null));
    assertTrue(missingLog.getMessage().contains("records 1 entries"), missingLog.getMessage());
  }

  @Test
  void aHeadOneEntryBehindAfterACrashIsReportedThenRepairedByTheNextWriter() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      audit.append("site.enrolled", Map.of("site", "a"));
      byte[] headBeforeCrash = Files.readAllBytes(head);
      audit.append("site.enrolled", Map.of("site", "b"));
      // As if the process died after forcing entry 2 but before replacing the head.
      Files.write(head, headBeforeCrash);
    }
    AuditVerification crashed = AuditLog.verify(log, key.getPublic());
    assertEquals(Problem.HEAD_MISMATCH, crashed.problem(), crashed.describe());
    assertEquals(2, crashed.line());

    try (AuditLog audit = AuditLog.open(log, CLOCK, key.getPrivate())) {
      assertEquals(3, audit.append("site.enrolled", Map.of("site", "c")).seq());
    }
    assertTrue(AuditLog.verify(log, key.getPublic()).ok());
  }

  @Test
  void appendRefusesWhenEntriesWereRemovedWhileOpen() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, null)) {
      audit.append("site.enrolled", Map.of("site", "a"));
      audit.append("site.enrolled", Map.of("site", "b"));
      List<String> lines = Files.readAllLines(log, UTF_8);
      Files.writeString(log, lines.get(0) + "\n", UTF_8);

      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> audit.append("site.enrolled", Map.of("site", "c")));
      assertTrue(e.getMessage().contains("shrank"), e.getMessage());
    }
  }

  @Test
  void appendRefusesAGarbledEntryAnotherWriterLeft() throws Exception {
    try (AuditLog audit = AuditLog.open(log, CLOCK, null)) {
      audit.append("site.enrolled", Map.of("site", "a"));
      Files.writeString(log, "{\"seq\":2,\"trunc", UTF_8, StandardOpenOption.APPEND);

      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> audit.append("site.enrolled", Map.of("site", "b")));
      assertTrue(e.getMessage().contains("line 2 (seq 2): MALFORMED_LINE"), e.getMessage());
    }
  }

  @Test
  void invalidArgumentsAndClosedLogsAreRefused() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> AuditLog.open(log, CLOCK,
        KeyPairGenerator.getInstance("EC").generateKeyPair().getPrivate()));
    AuditLog audit = AuditLog.open(log, CLOCK, null);
    assertThrows(IllegalArgumentException.class, () -> audit.append("Not A Type", Map.of()));
    assertThrows(NullPointerException.class, () -> audit.append("site.enrolled", null));
    audit.close();
    audit.close();
    assertThrows(IllegalStateException.class, () -> audit.append("site.enrolled", Map.of()));
    assertEquals(0, Files.size(log));
  }

  private interface Worker {
    void run(int index) throws Exception;
  }

  /** Runs {@code threads} workers that start together; rethrows the first failure. */
  private static void runConcurrently(int threads, Worker worker) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int index = t;
        futures.add(pool.submit(() -> {
          start.await();
          worker.run(index);
          return null;
        }));
      }
      start.countDown();
      for (Future<?> future : futures) {
        future.get(2, TimeUnit.MINUTES);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static Set<Long> allSeqs(long count) {
    return LongStream.rangeClosed(1, count).boxed().collect(Collectors.toCollection(TreeSet::new));
  }

  private static List<String> names(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.properties().forEach(member -> names.add(member.getKey()));
    return names;
  }

  /** Waits until every file exists, failing early if a child process exits first. */
  private static void awaitFiles(List<Process> children, List<Path> files) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (!files.stream().allMatch(Files::exists)) {
      for (Process child : children) {
        if (!child.isAlive()) {
          throw new AssertionError("a child process exited early with " + child.exitValue());
        }
      }
      assertTrue(System.nanoTime() < deadline, "child processes did not start");
      Thread.sleep(5);
    }
  }

  private static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (Exception e) {
      return "";
    }
  }
}
