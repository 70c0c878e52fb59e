package eu.hanse.agent.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** A site's own text: every regular file in a folder (recursively, in name order), read as UTF-8. */
public final class TextFolder {
  private TextFolder() {}

  public static SiteData read(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new IllegalArgumentException("corpus folder " + folder + " does not exist or is not a folder");
    }
    List<Path> files;
    try (Stream<Path> walk = Files.walk(folder)) {
      files = walk.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list corpus folder " + folder + ": " + e.getMessage(), e);
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException("corpus folder " + folder + " holds no files");
    }
    StringBuilder text = new StringBuilder();
    for (Path file : files) {
      text.append(decode(file)).append('\n');
    }
    return SiteData.split(folder.toString(), Vocabulary.encode(text));
  }

  private static String decode(Path file) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(Files.readAllBytes(file)))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("corpus file " + file + " is not valid UTF-8 text", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read corpus file " + file + ": " + e.getMessage(), e);
    }
  }
}
