package eu.hanse.security;

import java.util.regex.Pattern;

/**
 * The one naming rule for sites and coordinators. Names end up inside URNs, file names and
 * DNS-like labels, so they are kept to a conservative lowercase alphabet.
 */
final class Names {
  static final String RULE = "[a-z][a-z0-9-]{0,62}";
  private static final Pattern PATTERN = Pattern.compile(RULE);

  private Names() {}

  /** Whether {@code name} obeys {@link #RULE}; false for null. */
  static boolean isValid(String name) {
    return name != null && PATTERN.matcher(name).matches();
  }

  /**
   * Returns {@code name} unchanged if it obeys {@link #RULE}.
   *
   * @param kind what the name names, for the message ("site", "coordinator")
   * @throws IllegalArgumentException naming the rule otherwise
   */
  static String require(String kind, String name) {
    if (!isValid(name)) {
      throw new IllegalArgumentException(
          "Invalid " + kind + " name " + (name == null ? "null" : "'" + name + "'")
              + ": it must match " + RULE
              + " (a lowercase letter, then at most 62 lowercase letters, digits or hyphens)");
    }
    return name;
  }
}
