package eu.hanse.security;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds the byte strings that Hanse signs: a raw ASCII domain tag, then fields, each of fixed
 * width (8-byte big-endian longs, 4-byte big-endian counts) or length-prefixed (4-byte big-endian
 * length, then the bytes; UTF-8 for strings). No field can absorb its neighbour's bytes, so two
 * different claims never share an encoding.
 *
 * <p>Not thread-safe; use one per encoding.
 */
final class CanonicalWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);

  /** Starts with {@code tag}'s ASCII bytes, so claims of one kind never verify as another. */
  CanonicalWriter(String tag) {
    out.writeBytes(tag.getBytes(StandardCharsets.US_ASCII));
  }

  CanonicalWriter string(String value) {
    return bytes(value.getBytes(StandardCharsets.UTF_8));
  }

  CanonicalWriter bytes(byte[] value) {
    count(value.length);
    out.writeBytes(value);
    return this;
  }

  CanonicalWriter int64(long value) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.write((int) (value >>> shift));
    }
    return this;
  }

  CanonicalWriter count(int value) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.write(value >>> shift);
    }
    return this;
  }

  byte[] toByteArray() {
    return out.toByteArray();
  }
}
