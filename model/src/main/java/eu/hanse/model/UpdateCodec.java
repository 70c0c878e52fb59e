package eu.hanse.model;

import java.util.Locale;

/**
 * How an update's values travel: each chunk of elements is encoded on its own, so the coordinator
 * can decode and fold a chunk as it arrives.
 *
 * <ul>
 *   <li>{@code fp32}: 4 bytes per element, little-endian;
 *   <li>{@code bf16}: the upper 16 bits of each float, rounded to nearest even, 2 bytes;
 *   <li>{@code int8}: blocks of {@link #BLOCK} elements, a float scale per block (max |x| / 127),
 *       then one signed byte per element;
 *   <li>{@code int4}: as int8 with scale max |x| / 7 and two codes per byte (+8, low nibble first);
 *   <li>{@code topk[:D]}: the {@code ceil(D n)} elements of the chunk largest in magnitude (D =
 *       {@link #DEFAULT_DENSITY} by default) as a count, then (int index within the chunk, float
 *       value) pairs in ascending index order; the rest are zero.
 * </ul>
 *
 * <p>A site keeps what its codec dropped and adds it to its next update (error feedback), so over
 * rounds nothing is lost, only delayed.
 *
 * @param kind the encoding
 * @param density for top-k, the fraction of elements sent
 */
public record UpdateCodec(Kind kind, double density) {
  public enum Kind { FP32, BF16, INT8, INT4, TOPK }

  /** Elements per quantization block. */
  public static final int BLOCK = 64;
  public static final double DEFAULT_DENSITY = 1.0 / 32;

  public UpdateCodec {
    if (kind == Kind.TOPK ? !(density > 0 && density <= 1) : density != 1) {
      throw new IllegalArgumentException("top-k density must be in (0, 1], was " + density);
    }
  }

  public static UpdateCodec fp32() {
    return new UpdateCodec(Kind.FP32, 1);
  }

  /** Reads {@code fp32}, {@code bf16}, {@code int8}, {@code int4} or {@code topk[:D]}. */
  public static UpdateCodec parse(String text) {
    String name = text.trim().toLowerCase(Locale.ROOT);
    try {
      return switch (name) {
        case "fp32" -> fp32();
        case "bf16" -> new UpdateCodec(Kind.BF16, 1);
        case "int8" -> new UpdateCodec(Kind.INT8, 1);
        case "int4" -> new UpdateCodec(Kind.INT4, 1);
        case "topk" -> new UpdateCodec(Kind.TOPK, DEFAULT_DENSITY);
        default -> {
          if (name.startsWith("topk:")) {
            yield new UpdateCodec(Kind.TOPK, Double.parseDouble(name.substring("topk:".length())));
          }
          throw new IllegalArgumentException("unknown codec");
        }
      };
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "codec '" + text + "': " + e.getMessage() + "; use fp32, bf16, int8, int4 or topk[:D]", e);
    }
  }

  /** The name as {@link #parse} reads it, also the wire header's codec. */
  public String describe() {
    return kind == Kind.TOPK
        ? (density == DEFAULT_DENSITY ? "topk" : "topk:" + density)
        : kind.name().toLowerCase(Locale.ROOT);
  }

  /** Scales in a chunk of n elements (int8, int4). */
  static int blocks(int elements) {
    return (elements + BLOCK - 1) / BLOCK;
  }

  /** Elements top-k sends of a chunk of n. */
  public int kept(int elements) {
    return (int) Math.min(elements, Math.ceil(density * elements));
  }

  /** The exact size of an encoded chunk of n elements. */
  public int encodedBytes(int elements) {
    return switch (kind) {
      case FP32 -> 4 * elements;
      case BF16 -> 2 * elements;
      case INT8 -> 4 * blocks(elements) + elements;
      case INT4 -> 4 * blocks(elements) + (elements + 1) / 2;
      case TOPK -> 4 + 8 * kept(elements);
    };
  }
}
