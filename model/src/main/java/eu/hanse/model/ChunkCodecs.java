package eu.hanse.model;

import eu.hanse.kernels.TensorBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes and decodes update chunks in an {@link UpdateCodec}, with scratch arrays reused between
 * chunks, so a warm codec allocates nothing per chunk but its output. Quantization runs on the
 * given backend. Not thread-safe: one per upload or per fold.
 */
public final class ChunkCodecs {
  private final UpdateCodec codec;
  private final TensorBackend backend;
  private byte[] codes = new byte[0];
  private float[] scales = new float[0];
  private int[] indices = new int[0];

  public ChunkCodecs(UpdateCodec codec, TensorBackend backend) {
    this.codec = codec;
    this.backend = backend;
  }

  public UpdateCodec codec() {
    return codec;
  }

  /** Codecs of the same kind on the same backend, with scratch space of their own: one per thread. */
  public ChunkCodecs another() {
    return new ChunkCodecs(codec, backend);
  }

  /** Encodes {@code values[0, n)} as one chunk, exactly {@link UpdateCodec#encodedBytes} long. */
  public ByteBuffer encode(float[] values, int n) {
    ByteBuffer out = ByteBuffer.allocate(codec.encodedBytes(n)).order(ByteOrder.LITTLE_ENDIAN);
    switch (codec.kind()) {
      case FP32 -> out.asFloatBuffer().put(values, 0, n);
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out.putShort(2 * i, toBfloat16(values[i]));
        }
      }
      case INT8, INT4 -> {
        int blocks = UpdateCodec.blocks(n);
        boolean int8 = codec.kind() == UpdateCodec.Kind.INT8;
        int codeBytes = int8 ? n : (n + 1) / 2;
        ensureCodes(codeBytes, blocks);
        if (int8) {
          backend.quantizeInt8(values, n, UpdateCodec.BLOCK, codes, scales);
        } else {
          backend.quantizeInt4(values, n, UpdateCodec.BLOCK, codes, scales);
        }
        out.asFloatBuffer().put(scales, 0, blocks);
        out.put(4 * blocks, codes, 0, codeBytes);
      }
      case TOPK -> {
        int k = codec.kept(n);
        if (indices.length < k) {
          indices = new int[k];
        }
        backend.topK(values, n, k, indices);
        out.putInt(0, k);
        for (int j = 0; j < k; j++) {
          out.putInt(4 + 8 * j, indices[j]);
          out.putFloat(8 + 8 * j, values[indices[j]]);
        }
      }
    }
    return out;
  }

  /**
   * Decodes one chunk of n elements into {@code out[0, n)}.
   *
   * @throws IllegalArgumentException if the chunk has the wrong size, a scale is negative or not
   *     finite, or top-k's count or indices are not what an encoder writes
   */
  public void decode(ByteBuffer chunk, int n, float[] out) {
    ByteBuffer in = chunk.slice().order(ByteOrder.LITTLE_ENDIAN);
    int expected = codec.encodedBytes(n);
    if (in.remaining() != expected) {
      throw new IllegalArgumentException(codec.describe() + " chunk of " + n + " elements must be " + expected
          + " bytes, was " + in.remaining());
    }
    switch (codec.kind()) {
      case FP32 -> in.asFloatBuffer().get(out, 0, n);
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = Float.intBitsToFloat((in.getShort(2 * i) & 0xffff) << 16);
        }
      }
      case INT8, INT4 -> {
        int blocks = UpdateCodec.blocks(n);
        boolean int8 = codec.kind() == UpdateCodec.Kind.INT8;
        int codeBytes = int8 ? n : (n + 1) / 2;
        ensureCodes(codeBytes, blocks);
        in.asFloatBuffer().get(scales, 0, blocks);
        for (int b = 0; b < blocks; b++) {
          if (!(scales[b] >= 0) || Float.isInfinite(scales[b])) {
            throw new IllegalArgumentException("block " + b + " has scale " + scales[b]
                + "; scales are finite and not negative");
          }
        }
        in.get(4 * blocks, codes, 0, codeBytes);
        if (int8) {
          backend.dequantizeInt8(codes, scales, n, UpdateCodec.BLOCK, out);
        } else {
          backend.dequantizeInt4(codes, scales, n, UpdateCodec.BLOCK, out);
        }
      }
      case TOPK -> decodeTopK(in, n, out);
    }
  }

  private void decodeTopK(ByteBuffer in, int n, float[] out) {
    int k = in.getInt(0);
    if (k != codec.kept(n)) {
      throw new IllegalArgumentException("top-k chunk of " + n + " elements must send " + codec.kept(n)
          + ", says " + k);
    }
    java.util.Arrays.fill(out, 0, n, 0f);
    int previous = -1;
    for (int j = 0; j < k; j++) {
      int index = in.getInt(4 + 8 * j);
      if (index <= previous || index >= n) {
        throw new IllegalArgumentException("top-k index " + index + " at " + j
            + " is not ascending within the chunk of " + n);
      }
      out[index] = in.getFloat(8 + 8 * j);
      previous = index;
    }
  }

  private void ensureCodes(int codeBytes, int blocks) {
    if (codes.length < codeBytes) {
      codes = new byte[codeBytes];
    }
    if (scales.length < blocks) {
      scales = new float[blocks];
    }
  }

  /** The float rounded to bfloat16 (nearest, ties to even); NaN stays NaN. */
  static short toBfloat16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
    return (short) (rounded >>> 16);
  }
}
