package eu.hanse.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.kernels.TensorBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every codec round-trips chunks of awkward sizes within its stated error, and refuses bad chunks. */
class ChunkCodecsTest {
  private static TensorBackend backend;

  @BeforeAll
  static void open() {
    backend = TensorBackend.cpu(1);
  }

  @AfterAll
  static void close() {
    backend.close();
  }

  private static float[] values(int n, long seed) {
    Random random = new Random(seed);
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) (random.nextGaussian() * 0.01);
    }
    return values;
  }

  @Test
  void eachCodecRoundTripsWithinItsError() {
    for (int n : new int[] {1, 63, 64, 65, 1000, 4097}) {
      float[] x = values(n, n);
      for (String name : List.of("fp32", "bf16", "int8", "int4")) {
        ChunkCodecs codecs = new ChunkCodecs(UpdateCodec.parse(name), backend);
        ByteBuffer encoded = codecs.encode(x, n);
        assertEquals(codecs.codec().encodedBytes(n), encoded.remaining(), name);
        float[] out = new float[n];
        codecs.decode(encoded, n, out);
        for (int i = 0; i < n; i++) {
          int block = i / UpdateCodec.BLOCK;
          double blockMax = 0;
          for (int j = block * UpdateCodec.BLOCK; j < Math.min(n, (block + 1) * UpdateCodec.BLOCK); j++) {
            blockMax = Math.max(blockMax, Math.abs(x[j]));
          }
          double tolerance = switch (name) {
            case "fp32" -> 0;
            case "bf16" -> Math.abs(x[i]) * 0x1p-8;
            case "int8" -> blockMax / 127 * 0.5001;
            default -> blockMax / 7 * 0.5001;
          };
          assertEquals(x[i], out[i], tolerance, name + " element " + i + " of " + n);
        }
      }
    }
  }

  @Test
  void topKSendsTheLargestAndZeroesTheRest() {
    int n = 1000;
    float[] x = values(n, 3);
    x[17] = 5f;
    x[900] = -6f;
    ChunkCodecs codecs = new ChunkCodecs(UpdateCodec.parse("topk:0.002"), backend);
    ByteBuffer encoded = codecs.encode(x, n);
    assertEquals(4 + 8 * 2, encoded.remaining());
    float[] out = new float[n];
    codecs.decode(encoded, n, out);
    float[] expected = new float[n];
    expected[17] = 5f;
    expected[900] = -6f;
    assertArrayEquals(expected, out);
  }

  @Test
  void malformedChunksAreRefused() {
    ChunkCodecs int8 = new ChunkCodecs(UpdateCodec.parse("int8"), backend);
    float[] out = new float[64];
    IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
        () -> int8.decode(ByteBuffer.allocate(67), 64, out));
    assertEquals("int8 chunk of 64 elements must be 68 bytes, was 67", size.getMessage());
    ByteBuffer badScale = ByteBuffer.allocate(68).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> int8.decode(badScale, 64, out))
        .getMessage().contains("scale NaN"));

    ChunkCodecs topk = new ChunkCodecs(UpdateCodec.parse("topk:0.5"), backend);
    ByteBuffer descending = ByteBuffer.allocate(4 + 16).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(0, 2).putInt(4, 3).putInt(12, 1);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> topk.decode(descending, 4, new float[4]))
        .getMessage().contains("not ascending"));
  }

  @Test
  void codecNamesParseAndBadOnesAreRefused() {
    for (String name : List.of("fp32", "bf16", "int8", "int4", "topk", "topk:0.1")) {
      assertEquals(name, UpdateCodec.parse(name).describe());
    }
    for (String bad : List.of("fp16", "topk:0", "topk:2", "topk:x")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UpdateCodec.parse(bad));
      assertTrue(e.getMessage().startsWith("codec '" + bad + "'"), e.getMessage());
    }
    assertEquals(0x3f80, ChunkCodecs.toBfloat16(1f) & 0xffff);
    assertEquals(0x3f80, ChunkCodecs.toBfloat16(1.00390625f) & 0xffff, "a tie rounds to even");
    assertEquals(0x3f82, ChunkCodecs.toBfloat16(1.0117188f) & 0xffff, "a tie between 0x3f81 and 0x3f82 goes up to even");
  }
}
