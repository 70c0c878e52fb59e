package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The file behind {@link EnrolmentTokens}: the invitations issued, each by the SHA-256 of its
 * secret, never the secret itself.
 *
 * <p>Format (JSON, owner-only, replaced atomically on every change):
 *
 * <pre>{@code
 * {
 *   "version" : 1,
 *   "invitations" : [ {
 *     "secretSha256" : "<64 hex>",
 *     "site" : "juelich",
 *     "issuedAt" : "2026-03-01T12:00:00Z",
 *     "expiresAt" : "2026-03-08T12:00:00Z",
 *     "usedAt" : null
 *   } ]
 * }
 * }</pre>
 *
 * <p>{@code usedAt} is the instant the invitation was redeemed, or null while it is unused.
 * Invitations are kept after use or expiry, as a record of what was issued.
 *
 * <p>Every {@link #transact} runs under an exclusive {@link java.nio.channels.FileLock} on the
 * sibling {@code <name>.lock} file and re-reads the file inside it, so processes sharing the file
 * see each other's changes. Thread-safe.
 */
final class EnrolmentTokenStore {
  private static final int VERSION = 1;
  private static final Pattern HEX_HASH = Pattern.compile("[0-9a-f]{64}");

  /**
   * One issued invitation.
   *
   * @param secretSha256 the lower-case hex SHA-256 of the secret's bytes
   * @param site the site it was issued for
   * @param issuedAt when it was issued
   * @param expiresAt the first instant it is no longer valid
   * @param usedAt when it was redeemed, or null
   */
  record Invitation(
      String secretSha256, SiteId site, Instant issuedAt, Instant expiresAt, Instant usedAt) {
    Invitation {
      if (secretSha256 == null || !HEX_HASH.matcher(secretSha256).matches()) {
        throw new IllegalArgumentException("secretSha256 must be 64 lower-case hex digits");
      }
      Objects.requireNonNull(site, "site");
      Objects.requireNonNull(issuedAt, "issuedAt");
      Objects.requireNonNull(expiresAt, "expiresAt");
    }

    Invitation usedAt(Instant when) {
      return new Invitation(secretSha256, site, issuedAt, expiresAt, when);
    }
  }

  private final Path file;

  EnrolmentTokenStore(Path file) {
    this.file = file.toAbsolutePath();
  }

  Path file() {
    return file;
  }

  /**
   * Runs {@code change} on the current invitations under the lock and, if it changed the list,
   * writes it back (forced to disk) before returning. An exception from {@code change} leaves the
   * file as it was.
   */
  @SuppressWarnings("try") // The lock is held for the block's sake, never referenced in it.
  <T> T transact(Function<List<Invitation>, T> change) {
    PemFiles.createPrivateDirectory(file.getParent());
    try (FileChannel lock = AuditLogFiles.lock(file)) {
      List<Invitation> before = read();
      List<Invitation> after = new ArrayList<>(before);
      T result = change.apply(after);
      if (!after.equals(before)) {
        write(after);
      }
      return result;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Could not lock or read the enrolment tokens " + file + ": " + e.getMessage(), e);
    }
  }

  private List<Invitation> read() throws IOException {
    String text;
    try {
      text = Files.readString(file, UTF_8);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    try {
      return parse(AuditEntryCodec.JSON.readTree(text));
    } catch (IOException | IllegalArgumentException | DateTimeParseException e) {
      throw new IllegalStateException(file + " is not a valid enrolment token file ("
          + e.getMessage() + "); restore it from a backup, or move it away to cancel every"
          + " pending invitation", e);
    }
  }

  private static List<Invitation> parse(JsonNode root) {
    if (root == null || !root.isObject() || root.path("version").asInt(-1) != VERSION) {
      throw new IllegalArgumentException("expected a JSON object with \"version\": " + VERSION);
    }
    JsonNode invitations = root.get("invitations");
    if (invitations == null || !invitations.isArray()) {
      throw new IllegalArgumentException("\"invitations\" is missing or not an array");
    }
    List<Invitation> result = new ArrayList<>();
    for (JsonNode node : invitations) {
      JsonNode usedAt = node.path("usedAt");
      result.add(new Invitation(
          text(node, "secretSha256"),
          new SiteId(text(node, "site")),
          Instant.parse(text(node, "issuedAt")),
          Instant.parse(text(node, "expiresAt")),
          usedAt.isNull() || usedAt.isMissingNode() ? null : Instant.parse(text(node, "usedAt"))));
    }
    return result;
  }

  private static String text(JsonNode node, String name) {
    JsonNode value = node.get(name);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException("an invitation's \"" + name + "\" is missing or not text");
    }
    return value.textValue();
  }

  private void write(List<Invitation> invitations) {
    ObjectNode root = AuditEntryCodec.JSON.createObjectNode();
    root.put("version", VERSION);
    ArrayNode array = root.putArray("invitations");
    for (Invitation invitation : invitations) {
      ObjectNode node = array.addObject();
      node.put("secretSha256", invitation.secretSha256());
      node.put("site", invitation.site().name());
      node.put("issuedAt", invitation.issuedAt().toString());
      node.put("expiresAt", invitation.expiresAt().toString());
      node.put("usedAt", invitation.usedAt() == null ? null : invitation.usedAt().toString());
    }
    String text;
    try {
      text = AuditEntryCodec.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    } catch (IOException e) {
      // Serializing a tree of strings and numbers does not fail; this is unreachable.
      throw new UncheckedIOException(e);
    }
    AuditLogFiles.writeAtomically(file, (text + "\n").getBytes(UTF_8));
  }
}
