package eu.hanse.coordinator;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Samples of Prometheus' text format by name and label set, whatever the labels' order and the number's form. */
final class PrometheusSamples {
  private static final Pattern LINE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private PrometheusSamples() {}

  /** One sample: {@code name} with its labels in name order, and its value. */
  record Sample(String key, double value) {}

  static Sample parseLine(String line) {
    Matcher m = LINE.matcher(line.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a sample line: " + line);
    }
    Map<String, String> labels = new TreeMap<>();
    if (m.group(2) != null) {
      Matcher label = LABEL.matcher(m.group(2));
      while (label.find()) {
        labels.put(label.group(1), label.group(2));
      }
    }
    String value = m.group(3);
    double number = switch (value) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(value);
    };
    return new Sample(m.group(1) + labels, number);
  }

  /** Every sample of a scrape, by key. */
  static Map<String, Double> parse(String text) {
    Map<String, Double> samples = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (!line.isBlank() && !line.startsWith("#")) {
        Sample sample = parseLine(line);
        samples.put(sample.key(), sample.value());
      }
    }
    return samples;
  }
}
