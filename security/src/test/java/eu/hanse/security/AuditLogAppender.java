package eu.hanse.security;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * A second process for {@link AuditLogTest}: opens the trail in {@code file}, creates
 * {@code ready}, waits for {@code go} to exist (so that every writer appends at the same time),
 * appends {@code count} entries tagged with {@code writer}, then exits.
 */
final class AuditLogAppender {
  private AuditLogAppender() {}

  public static void main(String[] args) throws Exception {
    Path file = Path.of(args[0]);
    int count = Integer.parseInt(args[1]);
    String writer = args[2];
    Path ready = Path.of(args[3]);
    Path go = Path.of(args[4]);
    try (AuditLog audit = AuditLog.open(file, Clock.systemUTC(), null)) {
      Files.createFile(ready);
      while (!Files.exists(go)) {
        Thread.sleep(1);
      }
      for (int i = 0; i < count; i++) {
        audit.append("test.appended", Map.of("writer", writer, "i", Integer.toString(i)));
      }
    }
  }
}
