package eu.hanse.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Logback's encoder for Hanse's log lines, one per event in a {@link LogFormat}: the line's own
 * fields (time, level, logger, thread, message), then the thread's context (the MDC: job, round,
 * site) in name order and the event's key-value pairs, then the error and its stack.
 */
public final class HanseEncoder extends EncoderBase<ILoggingEvent> {
  private static final Pattern WHOLE_NUMBER = Pattern.compile("-?[0-9]{1,18}");
  /** Context keys whose values are numbers; every other key's value stays text ("007" is a name). */
  private static final Set<String> NUMBERS = Set.of("round");
  private static final byte[] NOTHING = new byte[0];

  private LogFormat format = LogFormat.JSON;

  /** {@code json} (the default) or {@code text}. */
  public void setFormat(String name) {
    this.format = LogFormat.fromEnvironment(name);
  }

  @Override
  public byte[] headerBytes() {
    return NOTHING;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    Map<String, Object> context = new LinkedHashMap<>();
    new TreeMap<>(event.getMDCPropertyMap()).forEach((key, value) -> context.put(key,
        NUMBERS.contains(key) && WHOLE_NUMBER.matcher(value).matches() ? (Object) Long.parseLong(value) : value));
    if (event.getKeyValuePairs() != null) {
      event.getKeyValuePairs().forEach(pair -> context.put(pair.key, pair.value));
    }
    String logger = event.getLoggerName();
    IThrowableProxy error = event.getThrowableProxy();
    String line = format.line(event.getInstant(), event.getLevel().toString(), logger.substring(logger.lastIndexOf('.') + 1),
        event.getThreadName(), event.getFormattedMessage() == null ? "" : event.getFormattedMessage(), context,
        error == null ? null : new LogFormat.Error(error.getClassName() + (error.getMessage() == null ? ""
            : ": " + error.getMessage()), ThrowableProxyUtil.asString(error)));
    return (line + "\n").getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public byte[] footerBytes() {
    return NOTHING;
  }
}
