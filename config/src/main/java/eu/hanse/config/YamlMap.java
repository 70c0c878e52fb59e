package eu.hanse.config;

import java.io.StringReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * One YAML mapping of a job file or a site configuration, read key by key with the type each key must have. Every error
 * names the line of the value (or the key) at fault; a key the reader never asked for is refused by
 * {@link #requireNoOthers()}, with the nearest known key as a hint, so a misspelt setting never
 * silently falls back to its default.
 */
public final class YamlMap {
  private static final Pattern SHORT_DURATION = Pattern.compile("(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

  private final String file;
  private final Node node;
  private final Map<String, NodeTuple> entries = new LinkedHashMap<>();
  private final List<String> known = new ArrayList<>();

  private YamlMap(String file, Node node, Map<String, NodeTuple> entries) {
    this.file = file;
    this.node = node;
    this.entries.putAll(entries);
  }

  /**
   * A file's bytes, refused unread when it has more than {@code maxBytes}; {@code what} names the
   * kind of file in the error ("a job file").
   */
  public static byte[] readBounded(java.nio.file.Path path, int maxBytes, String what) throws java.io.IOException {
    long size = java.nio.file.Files.size(path);
    if (size > maxBytes) {
      throw new ConfigFileException(path.toString(), 1, "the file has " + size + " bytes; " + what + " is at most "
          + maxBytes);
    }
    return java.nio.file.Files.readAllBytes(path);
  }

  /** A file's bytes as text: at most {@code maxBytes} of them, and UTF-8, or an error naming {@code name}. */
  public static String utf8(String name, byte[] bytes, int maxBytes, String what) {
    if (bytes.length > maxBytes) {
      throw new ConfigFileException(name, 1, "the file has " + bytes.length + " bytes; " + what + " is at most "
          + maxBytes);
    }
    try {
      return java.nio.charset.StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new ConfigFileException(name, 1, "the file is not UTF-8 text");
    }
  }

  /**
   * The YAML document in {@code text}, named {@code name} in errors; null if it holds none. At most
   * {@code maxChars} characters; aliases are limited and duplicate keys refused.
   */
  public static Node compose(String name, String text, int maxChars) {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setMaxAliasesForCollections(10);
    options.setCodePointLimit(maxChars);
    try {
      return new Yaml(options).compose(new StringReader(text));
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() != null ? e.getProblemMark().getLine() + 1 : 1;
      throw new ConfigFileException(name, line, "not valid YAML: " + e.getProblem());
    } catch (YAMLException e) {
      throw new ConfigFileException(name, 1, "not valid YAML: " + e.getMessage());
    }
  }

  /** The mapping {@code node} is, or an error saying what {@code what} must be. */
  public static YamlMap of(String file, Node node, String what) {
    if (!(node instanceof MappingNode mapping)) {
      throw error(file, node, what + " must be a mapping of 'key: value' lines");
    }
    Map<String, NodeTuple> entries = new LinkedHashMap<>();
    for (NodeTuple tuple : mapping.getValue()) {
      if (!(tuple.getKeyNode() instanceof ScalarNode key)) {
        throw error(file, tuple.getKeyNode(), "a key in " + what + " must be a plain word");
      }
      if (entries.put(key.getValue(), tuple) != null) {
        throw error(file, key, "'" + key.getValue() + "' appears twice in " + what);
      }
    }
    return new YamlMap(file, node, entries);
  }

  /** An empty mapping standing for a section the file leaves out. */
  private static YamlMap empty(String file, Node near) {
    return new YamlMap(file, near, Map.of());
  }

  public String file() {
    return file;
  }

  public Node node() {
    return node;
  }

  /** The value node of {@code key}, if present and not null ({@code key:} with nothing after it). */
  public Optional<Node> value(String key) {
    known.add(key);
    NodeTuple tuple = entries.get(key);
    if (tuple == null || isNull(tuple.getValueNode())) {
      return Optional.empty();
    }
    return Optional.of(tuple.getValueNode());
  }

  public boolean has(String key) {
    known.add(key);
    return entries.containsKey(key);
  }

  /** The keys in file order, each marked as known. */
  public List<String> keys() {
    known.addAll(entries.keySet());
    return List.copyOf(entries.keySet());
  }

  /** The line of {@code key} itself, or of the mapping when the key is absent. */
  public int lineOf(String key) {
    NodeTuple tuple = entries.get(key);
    return line(tuple != null ? tuple.getKeyNode() : node);
  }

  public String string(String key, String fallback) {
    return value(key).map(value -> scalar(value, key)).orElse(fallback);
  }

  public String requiredString(String key) {
    return value(key).map(value -> scalar(value, key))
        .orElseThrow(() -> error(node, "'" + key + "' is required"));
  }

  public int integer(String key, int fallback) {
    return value(key).map(value -> convert(value, key, text -> {
      try {
        return Integer.parseInt(text.replace("_", ""));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("must be a whole number, was '" + text + "'");
      }
    })).orElse(fallback);
  }

  /** A whole number that may be written as 1_000_000_000 or 1e9. */
  public long count(String key, long fallback) {
    return value(key).map(value -> convert(value, key, text -> {
      try {
        java.math.BigDecimal number = new java.math.BigDecimal(text.replace("_", ""));
        return number.longValueExact();
      } catch (NumberFormatException | ArithmeticException e) {
        throw new IllegalArgumentException("must be a whole number such as 1000000000 or 1e9, was '" + text + "'");
      }
    })).orElse(fallback);
  }

  public double number(String key, double fallback) {
    return value(key).map(value -> number(value, key)).orElse(fallback);
  }

  public Double optionalNumber(String key) {
    return value(key).map(value -> number(value, key)).orElse(null);
  }

  private double number(Node value, String key) {
    return convert(value, key, text -> {
      try {
        double number = Double.parseDouble(text.replace("_", ""));
        if (!Double.isFinite(number)) {
          throw new NumberFormatException();
        }
        return number;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("must be a finite number, was '" + text + "'");
      }
    });
  }

  public Duration duration(String key, Duration fallback) {
    return value(key).map(value -> convert(value, key, YamlMap::duration)).orElse(fallback);
  }

  /** A duration as ISO-8601 ({@code PT30M}) or in short form ({@code 30m}, {@code 1h30m}, {@code 2d}). */
  public static Duration duration(String text) {
    String lower = text.strip().toLowerCase(Locale.ROOT);
    Matcher shortForm = SHORT_DURATION.matcher(lower);
    if (!lower.isEmpty() && shortForm.matches()) {
      long[] units = {86400, 3600, 60, 1};
      long seconds = 0;
      for (int g = 1; g <= 4; g++) {
        if (shortForm.group(g) != null) {
          seconds = Math.addExact(seconds, Math.multiplyExact(Long.parseLong(shortForm.group(g)), units[g - 1]));
        }
      }
      return Duration.ofSeconds(seconds);
    }
    try {
      return Duration.parse(text.strip());
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException("must be a duration such as 30m, 1h30m, 2d or PT30M, was '" + text + "'");
    }
  }

  /** A nested mapping; an empty one when the key is absent. */
  public YamlMap map(String key) {
    return value(key).map(value -> of(file, value, "'" + key + "'")).orElseGet(() -> empty(file, node));
  }

  /** A sequence's items; a single scalar counts as a list of one. Empty when the key is absent. */
  public List<Node> list(String key) {
    Optional<Node> value = value(key);
    if (value.isEmpty()) {
      return List.of();
    }
    if (value.get() instanceof SequenceNode sequence) {
      return sequence.getValue();
    }
    if (value.get() instanceof ScalarNode) {
      return List.of(value.get());
    }
    throw error(value.get(), "'" + key + "' must be a list ('- item' lines or [a, b])");
  }

  /** A scalar's text, or an error naming {@code key}. */
  public String scalar(Node value, String key) {
    if (!(value instanceof ScalarNode scalar)) {
      throw error(value, "'" + key + "' must be a single value, not a list or a mapping");
    }
    return scalar.getValue();
  }

  /** Converts a scalar; an {@link IllegalArgumentException} becomes an error at its line. */
  public <T> T convert(Node value, String key, Function<String, T> conversion) {
    String text = scalar(value, key);
    try {
      return conversion.apply(text);
    } catch (IllegalArgumentException | ArithmeticException | java.time.DateTimeException e) {
      String message = e.getMessage();
      throw error(value, "'" + key + "'" + (message.startsWith("must") ? " " : ": ") + message);
    }
  }

  /** Refuses every key that no read asked for. */
  public void requireNoOthers() {
    for (Map.Entry<String, NodeTuple> entry : entries.entrySet()) {
      if (!known.contains(entry.getKey())) {
        String hint = nearest(entry.getKey()).map(k -> " (did you mean '" + k + "'?)").orElse("");
        throw error(entry.getValue().getKeyNode(), "unknown key '" + entry.getKey() + "'" + hint
            + "; known here: " + String.join(", ", known.stream().distinct().toList()));
      }
    }
  }

  private Optional<String> nearest(String key) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String candidate : known) {
      int distance = editDistance(key, candidate);
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    return bestDistance <= Math.max(2, key.length() / 3) ? Optional.ofNullable(best) : Optional.empty();
  }

  private static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  public ConfigFileException error(Node at, String reason) {
    return error(file, at, reason);
  }

  public ConfigFileException error(int line, String reason) {
    return new ConfigFileException(file, line, reason);
  }

  public static ConfigFileException error(String file, Node at, String reason) {
    return new ConfigFileException(file, line(at), reason);
  }

  public static int line(Node node) {
    return node.getStartMark().getLine() + 1;
  }

  private static boolean isNull(Node node) {
    return node instanceof ScalarNode scalar && scalar.getTag().getValue().endsWith(":null");
  }
}
