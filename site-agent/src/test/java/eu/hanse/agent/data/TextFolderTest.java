package eu.hanse.agent.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextFolderTest {
  /** Enough text that the held-out tenth has its minimum of two characters and more. */
  private static final String FILLER = "x".repeat(100);

  @TempDir
  Path folder;

  private static String text(SiteData data) {
    StringBuilder text = new StringBuilder();
    for (int[] part : new int[][] {data.train(), data.heldOut()}) {
      for (int token : part) {
        text.append(Vocabulary.decode(token));
      }
    }
    return text.toString();
  }

  @Test
  void readsEveryFileRecursivelyInNameOrder() throws IOException {
    // Written out of order, so that creation order cannot pass for name order.
    Files.createDirectories(folder.resolve("b/inner"));
    Files.writeString(folder.resolve("c.txt"), "third" + FILLER);
    Files.writeString(folder.resolve("b/inner/z.txt"), "second");
    Files.writeString(folder.resolve("a.txt"), "first");
    SiteData data = TextFolder.read(folder);
    assertEquals("first\nsecond\nthird" + FILLER + "\n", text(data));
    assertEquals(folder.toString(), data.source());
  }

  @Test
  void skipsDotFiles() throws IOException {
    Files.writeString(folder.resolve(".hidden"), "secret");
    Files.writeString(folder.resolve("visible.txt"), "shown" + FILLER);
    String text = text(TextFolder.read(folder));
    assertEquals("shown" + FILLER + "\n", text);
  }

  @Test
  void mapsCharactersOutsideTheVocabularyToUnknown() throws IOException {
    Files.writeString(folder.resolve("umlaut.txt"), "Gr\u00fc\u00dfe \u20ac" + FILLER, StandardCharsets.UTF_8);
    SiteData data = TextFolder.read(folder);
    int[] train = data.train();
    assertArrayEquals(new int[] {Vocabulary.encode('G'), Vocabulary.encode('r'), Vocabulary.UNKNOWN,
        Vocabulary.UNKNOWN, Vocabulary.encode('e'), Vocabulary.encode(' '), Vocabulary.UNKNOWN},
        java.util.Arrays.copyOf(train, 7));
  }

  @Test
  void refusesAMissingFolder() {
    Path missing = folder.resolve("nowhere");
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> TextFolder.read(missing));
    assertTrue(refused.getMessage().contains(missing.toString()), refused.getMessage());
  }

  @Test
  void refusesAFileInsteadOfAFolder() throws IOException {
    Path file = Files.writeString(folder.resolve("plain.txt"), FILLER);
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> TextFolder.read(file));
    assertTrue(refused.getMessage().contains(file.toString()), refused.getMessage());
  }

  @Test
  void refusesAFolderWithoutFiles() throws IOException {
    Files.createDirectories(folder.resolve("only/subfolders"));
    Files.writeString(folder.resolve(".dotfile"), FILLER);
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> TextFolder.read(folder));
    assertTrue(refused.getMessage().contains(folder.toString()), refused.getMessage());
    assertTrue(refused.getMessage().contains("no files"), refused.getMessage());
  }

  @Test
  void refusesAFileThatIsNotUtf8() throws IOException {
    Files.writeString(folder.resolve("good.txt"), FILLER);
    Path bad = Files.write(folder.resolve("latin1.txt"), "Gr\u00fc\u00dfe".getBytes(StandardCharsets.ISO_8859_1));
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> TextFolder.read(folder));
    assertTrue(refused.getMessage().contains(bad.toString()), refused.getMessage());
    assertTrue(refused.getMessage().contains("UTF-8"), refused.getMessage());
  }

  @Test
  void tooLittleTextIsRefused() throws IOException {
    Files.writeString(folder.resolve("short.txt"), "ab");
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> TextFolder.read(folder));
    assertTrue(refused.getMessage().contains("too little text"), refused.getMessage());
    assertTrue(refused.getMessage().contains(folder.toString()), refused.getMessage());
  }
}
