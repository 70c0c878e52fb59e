package eu.hanse.logging;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

/**
 * How a log line is written: a JSON object per line (the default: time, level, logger, thread,
 * message, then the context: job, round, site, reason and any other key), or, with
 * {@code HANSE_LOG_FORMAT=text}, a line for people: time, level, logger, message, context.
 */
enum LogFormat {
  JSON {
    @Override
    String line(Instant time, String level, String logger, String thread, String message, Map<String, Object> context,
        Error error) {
      StringBuilder json = new StringBuilder(160 + message.length()).append('{');
      field(json, "time", time.toString());
      json.append(',');
      field(json, "level", level);
      json.append(',');
      field(json, "logger", logger);
      json.append(',');
      field(json, "thread", thread);
      json.append(',');
      field(json, "message", message);
      context.forEach((key, value) -> {
        // A context key never overwrites the line's own fields: it gets a trailing underscore.
        String name = RESERVED.contains(key) ? key + "_" : key;
        json.append(',');
        if (value instanceof Boolean || value instanceof Number number && Double.isFinite(number.doubleValue())) {
          json.append('"').append(escape(name)).append("\":").append(value);
        } else {
          field(json, name, String.valueOf(value)); // NaN and infinities are not JSON numbers.
        }
      });
      if (error != null) {
        json.append(',');
        field(json, "error", error.summary());
        json.append(',');
        field(json, "stack", error.stack());
      }
      return json.append('}').toString();
    }
  },
  TEXT {
    private final DateTimeFormatter clock = DateTimeFormatter.ofPattern("HH:mm:ss.SSS", Locale.ROOT)
        .withZone(ZoneId.systemDefault());

    @Override
    String line(Instant time, String level, String logger, String thread, String message, Map<String, Object> context,
        Error error) {
      StringBuilder text = new StringBuilder().append(clock.format(time)).append(' ').append(level).append(' ')
          .append(logger).append(" - ").append(message);
      context.forEach((key, value) -> text.append(' ').append(key).append('=').append(value));
      if (error != null) {
        text.append('\n').append(error.stack().stripTrailing());
      }
      return text.toString();
    }
  };

  private static final java.util.Set<String> RESERVED = java.util.Set.of("time", "level", "logger", "thread",
      "message", "error", "stack");

  abstract String line(Instant time, String level, String logger, String thread, String message,
      Map<String, Object> context, Error error);

  /** An event's error: its class and message, as {@code Throwable.toString} has them, and its stack trace. */
  record Error(String summary, String stack) {}

  /** The format HANSE_LOG_FORMAT names: "json" (the default) or "text". */
  static LogFormat fromEnvironment(String value) {
    return value != null && value.equalsIgnoreCase("text") ? TEXT : JSON;
  }

  private static void field(StringBuilder json, String key, String value) {
    json.append('"').append(escape(key)).append("\":\"").append(escape(value)).append('"');
  }

  static String escape(String text) {
    StringBuilder escaped = new StringBuilder(text.length() + 8);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> escaped.append("\\\"");
        case '\\' -> escaped.append("\\\\");
        case '\n' -> escaped.append("\\n");
        case '\r' -> escaped.append("\\r");
        case '\t' -> escaped.append("\\t");
        default -> {
          if (c < 0x20) {
            escaped.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            escaped.append(c);
          }
        }
      }
    }
    return escaped.toString();
  }
}
