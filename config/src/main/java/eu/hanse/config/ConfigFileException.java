package eu.hanse.config;

/**
 * A configuration file (a job file, a site configuration) that cannot be used, with the line
 * (1-based) where the problem is and the reason.
 */
public final class ConfigFileException extends RuntimeException {
  private final String file;
  private final int line;
  private final String reason;

  public ConfigFileException(String file, int line, String reason) {
    super(file + ":" + line + ": " + reason);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }

  public String file() {
    return file;
  }

  public int line() {
    return line;
  }

  public String reason() {
    return reason;
  }
}
