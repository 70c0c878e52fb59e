package eu.hanse.security;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Who a node or person in a Hanse consortium is: its {@link Role} and its name.
 *
 * <p>The identity travels in the holder's TLS certificate as exactly one URI subject alternative
 * name, {@code urn:hanse:<role>:<name>} with role {@code site}, {@code coordinator},
 * {@code operator} or {@code lead} (see {@link #uri()}).
 * Authorization decisions use this URI, never the subject CN, because the CA puts it there
 * deliberately while a CN is free text.
 *
 * @param role the part the holder plays
 * @param name the holder's name; for every role it matches {@code [a-z][a-z0-9-]{0,62}}
 */
public record NodeIdentity(Role role, String name) {
  private static final String URI_PREFIX = "urn:hanse:";
  /** GeneralName tag of a uniformResourceIdentifier, as {@link X509Certificate} reports it. */
  private static final int SAN_URI = 6;

  /** The part a node plays in the consortium. */
  public enum Role {
    /** The node that schedules rounds and aggregates updates. */
    COORDINATOR,
    /** A site agent that trains on local data. */
    SITE,
    /** A person who runs the consortium's infrastructure (e.g. issues and revokes certificates). */
    OPERATOR,
    /** A person who leads the consortium's training (e.g. approves jobs and checkpoints). */
    LEAD,
    /**
     * A read-only operator: a person or a tool (a dashboard, a Prometheus server) that sees
     * everything operators and leads see and changes nothing.
     */
    VIEWER;

    /**
     * The role as it appears in the identity URI: {@code coordinator}, {@code site},
     * {@code operator}, {@code lead} or {@code viewer}.
     */
    public String uriLabel() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * Validates the identity.
   *
   * @throws NullPointerException if {@code role} is null
   * @throws IllegalArgumentException if {@code name} does not match {@code [a-z][a-z0-9-]{0,62}}
   */
  public NodeIdentity {
    Objects.requireNonNull(role, "role");
    Names.require(role.uriLabel(), name);
  }

  /** The identity of site {@code site}. */
  public static NodeIdentity site(SiteId site) {
    Objects.requireNonNull(site, "site");
    return new NodeIdentity(Role.SITE, site.name());
  }

  /**
   * The identity of the coordinator called {@code name}.
   *
   * @throws IllegalArgumentException if {@code name} does not match {@code [a-z][a-z0-9-]{0,62}}
   */
  public static NodeIdentity coordinator(String name) {
    return new NodeIdentity(Role.COORDINATOR, name);
  }

  /**
   * The identity of the operator called {@code name} ({@code urn:hanse:operator:<name>}).
   *
   * @throws IllegalArgumentException if {@code name} does not match {@code [a-z][a-z0-9-]{0,62}}
   */
  public static NodeIdentity operator(String name) {
    return new NodeIdentity(Role.OPERATOR, name);
  }

  /**
   * The identity of the consortium lead called {@code name} ({@code urn:hanse:lead:<name>}).
   *
   * @throws IllegalArgumentException if {@code name} does not match {@code [a-z][a-z0-9-]{0,62}}
   */
  public static NodeIdentity lead(String name) {
    return new NodeIdentity(Role.LEAD, name);
  }

  /**
   * The identity of the read-only operator called {@code name} ({@code urn:hanse:viewer:<name>}).
   *
   * @throws IllegalArgumentException if {@code name} does not match {@code [a-z][a-z0-9-]{0,62}}
   */
  public static NodeIdentity viewer(String name) {
    return new NodeIdentity(Role.VIEWER, name);
  }

  /**
   * The site this identity names.
   *
   * @throws IllegalStateException if this identity's role is not {@link Role#SITE}
   */
  public SiteId siteId() {
    if (role != Role.SITE) {
      throw new IllegalStateException(
          "'" + name + "' is a " + role.uriLabel() + ", not a site; check role() before siteId()");
    }
    return new SiteId(name);
  }

  /**
   * The URI subject alternative name that carries this identity in a certificate:
   * {@code urn:hanse:<role>:<name>}, e.g. {@code urn:hanse:site:juelich} or
   * {@code urn:hanse:operator:alice}.
   */
  public String uri() {
    return URI_PREFIX + role.uriLabel() + ":" + name;
  }

  /**
   * Reads the Hanse identity from a certificate's URI subject alternative names.
   *
   * <p>Exactly one URI starting with {@code urn:hanse:} must be present and it must name a known
   * role and a valid name. Anything else, including two Hanse URIs (which would make the
   * identity ambiguous) or unparseable SANs, gives an empty result rather than an exception, so
   * callers have a single "not a Hanse node" case to refuse.
   *
   * <p>This does not check the certificate's signature or validity; the TLS layer does that
   * before a certificate reaches here.
   */
  public static Optional<NodeIdentity> fromCertificate(X509Certificate certificate) {
    Objects.requireNonNull(certificate, "certificate");
    List<String> hanseUris = new ArrayList<>();
    try {
      Collection<List<?>> sans = certificate.getSubjectAlternativeNames();
      if (sans == null) {
        return Optional.empty();
      }
      for (List<?> san : sans) {
        if (san.size() >= 2
            && san.get(0) instanceof Integer tag
            && tag == SAN_URI
            && san.get(1) instanceof String uri
            && uri.regionMatches(true, 0, URI_PREFIX, 0, URI_PREFIX.length())) {
          hanseUris.add(uri);
        }
      }
    } catch (CertificateParsingException e) {
      return Optional.empty();
    }
    return hanseUris.size() == 1 ? parseUri(hanseUris.get(0)) : Optional.empty();
  }

  private static Optional<NodeIdentity> parseUri(String uri) {
    String rest = uri.substring(URI_PREFIX.length());
    int colon = rest.indexOf(':');
    if (colon < 0) {
      return Optional.empty();
    }
    String label = rest.substring(0, colon);
    String name = rest.substring(colon + 1);
    for (Role role : Role.values()) {
      if (role.uriLabel().equals(label) && Names.isValid(name)) {
        return Optional.of(new NodeIdentity(role, name));
      }
    }
    return Optional.empty();
  }
}
