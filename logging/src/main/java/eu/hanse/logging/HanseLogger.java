package eu.hanse.logging;

import java.io.PrintStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.MDC;
import org.slf4j.Marker;
import org.slf4j.event.KeyValuePair;
import org.slf4j.event.Level;
import org.slf4j.event.LoggingEvent;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.LoggingEventAware;

/**
 * A logger that writes one line per event to standard error (as it is when the line is written), or
 * to the stream it was given, in the process's {@link LogFormat},
 * with the thread's context (the MDC: job, round, site) and the event's key-value pairs as fields.
 */
final class HanseLogger extends LegacyAbstractLogger implements LoggingEventAware {
  private static final java.util.regex.Pattern WHOLE_NUMBER = java.util.regex.Pattern.compile("-?[0-9]{1,18}");
  /** Context keys whose values are numbers; every other key's value stays text ("007" is a name). */
  private static final java.util.Set<String> NUMBERS = java.util.Set.of("round");
  private final String shortName;
  private final int threshold;
  private final LogFormat format;
  private final PrintStream out;

  HanseLogger(String name, Level threshold, LogFormat format, PrintStream out) {
    this.name = name;
    this.shortName = name.substring(name.lastIndexOf('.') + 1);
    this.threshold = threshold.toInt();
    this.format = format;
    this.out = out;
  }

  private boolean enabled(Level level) {
    return level.toInt() >= threshold;
  }

  @Override
  public boolean isTraceEnabled() {
    return enabled(Level.TRACE);
  }

  @Override
  public boolean isTraceEnabled(Marker marker) {
    return isTraceEnabled();
  }

  @Override
  public boolean isDebugEnabled() {
    return enabled(Level.DEBUG);
  }

  @Override
  public boolean isDebugEnabled(Marker marker) {
    return isDebugEnabled();
  }

  @Override
  public boolean isInfoEnabled() {
    return enabled(Level.INFO);
  }

  @Override
  public boolean isInfoEnabled(Marker marker) {
    return isInfoEnabled();
  }

  @Override
  public boolean isWarnEnabled() {
    return enabled(Level.WARN);
  }

  @Override
  public boolean isWarnEnabled(Marker marker) {
    return isWarnEnabled();
  }

  @Override
  public boolean isErrorEnabled() {
    return enabled(Level.ERROR);
  }

  @Override
  public boolean isErrorEnabled(Marker marker) {
    return isErrorEnabled();
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  protected void handleNormalizedLoggingCall(Level level, Marker marker, String messagePattern, Object[] arguments,
      Throwable throwable) {
    write(level, messagePattern, arguments, throwable, List.of());
  }

  /** Events from the fluent API, with their key-value pairs. */
  @Override
  public void log(LoggingEvent event) {
    if (enabled(event.getLevel())) {
      Object[] arguments = event.getArgumentArray();
      write(event.getLevel(), event.getMessage(), arguments, event.getThrowable(),
          event.getKeyValuePairs() == null ? List.of() : event.getKeyValuePairs());
    }
  }

  private void write(Level level, String pattern, Object[] arguments, Throwable throwable, List<KeyValuePair> pairs) {
    var formatted = MessageFormatter.arrayFormat(pattern, arguments, throwable);
    Map<String, Object> context = new LinkedHashMap<>();
    Map<String, String> mdc = MDC.getCopyOfContextMap();
    if (mdc != null) {
      new java.util.TreeMap<>(mdc).forEach((key, value) -> context.put(key,
          NUMBERS.contains(key) && WHOLE_NUMBER.matcher(value).matches() ? (Object) Long.parseLong(value) : value));
    }
    pairs.forEach(pair -> context.put(pair.key, pair.value));
    String line = format.line(Instant.now(), level.name(), shortName, Thread.currentThread().getName(),
        formatted.getMessage() == null ? "" : formatted.getMessage(), context, formatted.getThrowable());
    PrintStream target = out != null ? out : System.err;
    synchronized (target) {
      target.println(line);
    }
  }
}
