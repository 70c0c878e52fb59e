package eu.hanse.coordinator.job;

import java.util.regex.Pattern;

/** A training job's id: lower-case letters, digits and '-', starting with a letter or digit. */
public record JobId(String value) {
  private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

  public JobId {
    if (value == null || !VALID.matcher(value).matches()) {
      throw new IllegalArgumentException("job id '" + value
          + "' must be 1-63 lower-case letters, digits or '-', starting with a letter or digit");
    }
  }

  @Override
  public String toString() {
    return value;
  }
}
