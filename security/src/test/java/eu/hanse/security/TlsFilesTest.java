package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsFilesTest {
  @TempDir Path dir;

  @Test
  void standardLayout() {
    TlsFiles files = TlsFiles.in(dir);
    assertEquals(dir.resolve("ca.crt"), files.caCertificate());
    assertEquals(dir.resolve("node.crt"), files.certificate());
    assertEquals(dir.resolve("node.key"), files.privateKey());
  }

  @Test
  void listsEveryMissingFileAndHowToCreateIt() throws Exception {
    Files.writeString(dir.resolve("node.crt"), "x");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> TlsFiles.in(dir).requireReadable());
    String message = e.getMessage();
    assertTrue(message.contains(dir.resolve("ca.crt").toString()), message);
    assertTrue(message.contains(dir.resolve("node.key").toString()), message);
    assertFalse(message.contains(dir.resolve("node.crt").toString()), message);
    assertTrue(message.contains("hanse ca init"), message);
    assertTrue(message.contains("hanse ca issue-site"), message);
  }

  @Test
  void passesWhenAllFilesExist() throws Exception {
    for (String name : new String[] {"ca.crt", "node.crt", "node.key"}) {
      Files.writeString(dir.resolve(name), "x");
    }
    TlsFiles files = TlsFiles.in(dir);
    assertSame(files, files.requireReadable());
  }
}
