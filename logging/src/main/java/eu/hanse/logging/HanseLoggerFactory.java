package eu.hanse.logging;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/**
 * Hanse's loggers: the level from HANSE_LOG_LEVEL (info by default; trace, debug, info, warn or
 * error), the libraries' own chatter (gRPC, Netty, Kafka, Vert.x) from warn up, and the format from
 * HANSE_LOG_FORMAT (json or text), else the one the command chose (json for the coordinator and
 * the agent, whose logs go to journals and files; text for commands a person runs).
 */
public final class HanseLoggerFactory implements ILoggerFactory {
  /** The format a command chooses when HANSE_LOG_FORMAT does not say (see Hanse.main). */
  public static final String FORMAT_PROPERTY = "hanse.log.format";
  private static final String[] QUIET = {"io.grpc", "io.netty", "org.apache.kafka", "io.vertx"};

  private final Map<String, Logger> loggers = new ConcurrentHashMap<>();
  private final Level level;
  private final LogFormat format;
  private final PrintStream out;

  /** Loggers configured from {@code environment} that write to {@code out}, or to standard error when null. */
  HanseLoggerFactory(Map<String, String> environment, PrintStream out) {
    this.level = level(environment.get("HANSE_LOG_LEVEL"));
    String chosen = environment.get("HANSE_LOG_FORMAT");
    this.format = LogFormat.fromEnvironment(chosen != null ? chosen : System.getProperty(FORMAT_PROPERTY));
    this.out = out;
  }

  private static Level level(String name) {
    try {
      return name == null || name.isBlank() ? Level.INFO : Level.valueOf(name.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      System.err.println("hanse: HANSE_LOG_LEVEL=" + name + " is not one of trace, debug, info, warn, error; "
          + "logging at info");
      return Level.INFO;
    }
  }

  @Override
  public Logger getLogger(String name) {
    return loggers.computeIfAbsent(name, this::create);
  }

  private Logger create(String name) {
    for (String quiet : QUIET) {
      if (name.startsWith(quiet) && level.toInt() < Level.WARN.toInt()) {
        return new HanseLogger(name, Level.WARN, format, out);
      }
    }
    return new HanseLogger(name, level, format, out);
  }
}
