package eu.hanse.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;

/**
 * Hanse's logging, configured on logback (found through META-INF/services): the level from
 * HANSE_LOG_LEVEL (info by default; trace, debug, info, warn or error), the libraries' own chatter
 * (gRPC, Netty, Kafka, Vert.x, Flyway) from warn up, and the format from HANSE_LOG_FORMAT (json or
 * text), else the one the command chose (json for the coordinator and the agent, whose logs go to
 * journals and files; text for commands a person runs), on standard error as it is when each line
 * is written.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class HanseLogging extends ContextAwareBase implements Configurator {
  /** The format a command chooses when HANSE_LOG_FORMAT does not say (see Hanse.main). */
  public static final String FORMAT_PROPERTY = "hanse.log.format";
  private static final String[] QUIET = {"io.grpc", "io.netty", "org.apache.kafka", "io.vertx", "org.flywaydb"};

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    configure(context, System.getenv(), null);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** Configures {@code context} from {@code environment}, writing to {@code out}, or to standard error when null. */
  static void configure(LoggerContext context, Map<String, String> environment, OutputStream out) {
    Level level = level(environment.get("HANSE_LOG_LEVEL"));
    String chosen = environment.get("HANSE_LOG_FORMAT");
    HanseEncoder encoder = new HanseEncoder();
    encoder.setContext(context);
    encoder.setFormat(chosen != null ? chosen : System.getProperty(FORMAT_PROPERTY));
    encoder.start();
    OutputStreamAppender<ILoggingEvent> appender;
    if (out == null) {
      ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
      console.setTarget("System.err");
      appender = console;
    } else {
      appender = new OutputStreamAppender<>();
      appender.setOutputStream(out);
    }
    appender.setContext(context);
    appender.setName("hanse");
    appender.setEncoder(encoder);
    appender.setImmediateFlush(true);
    appender.start();
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.detachAndStopAllAppenders();
    root.addAppender(appender);
    root.setLevel(level);
    for (String quiet : QUIET) {
      context.getLogger(quiet).setLevel(level.isGreaterOrEqual(Level.WARN) ? level : Level.WARN);
    }
  }

  private static Level level(String name) {
    if (name == null || name.isBlank()) {
      return Level.INFO;
    }
    String wanted = name.strip().toUpperCase(Locale.ROOT);
    return switch (wanted) {
      case "TRACE", "DEBUG", "INFO", "WARN", "ERROR" -> Level.toLevel(wanted);
      default -> {
        System.err.println("hanse: HANSE_LOG_LEVEL=" + name + " is not one of trace, debug, info, warn, error; "
            + "logging at info");
        yield Level.INFO;
      }
    };
  }
}
