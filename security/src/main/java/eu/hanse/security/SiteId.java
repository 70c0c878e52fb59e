package eu.hanse.security;

/**
 * The name of one site (one supercomputing centre) in a Hanse consortium.
 *
 * <p>A site name matches {@code [a-z][a-z0-9-]{0,62}}: it appears in the site's certificate as
 * {@code urn:hanse:site:<name>}, in directory names and in logs, so it is deliberately plain.
 *
 * @param name the site name, e.g. {@code "juelich"} or {@code "cineca-2"}
 */
public record SiteId(String name) {
  /**
   * Validates the name.
   *
   * @throws IllegalArgumentException if {@code name} is null or does not match
   *     {@code [a-z][a-z0-9-]{0,62}}
   */
  public SiteId {
    Names.require("site", name);
  }

  /** Returns the bare name, so a {@code SiteId} reads naturally in messages and paths. */
  @Override
  public String toString() {
    return name;
  }
}
