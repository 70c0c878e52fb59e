package eu.hanse.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
  @TempDir Path dir;

  private static ModelState sample(long seed) {
    Random random = new Random(seed);
    List<TensorSpec> specs = List.of(TensorSpec.of("embedding", 5, 3), TensorSpec.of("bias", 7),
        TensorSpec.of("w.out", 2, 3, 4));
    List<float[]> data = specs.stream().map(s -> {
      float[] values = new float[s.elementCount()];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian();
      }
      return values;
    }).toList();
    return new ModelState(specs, data, Map.of("hanse.round", "3", "hanse.model", "char-mlp"));
  }

  @Test
  void writtenStateReadsBackExactly() {
    ModelState state = sample(1);
    Path file = dir.resolve("a.safetensors");
    Safetensors.write(state, file);
    ModelState back = Safetensors.read(file);
    assertEquals(state.specs(), back.specs());
    assertEquals(state.metadata(), back.metadata());
    for (int t = 0; t < state.tensorCount(); t++) {
      assertArrayEquals(state.data(t), back.data(t));
    }
  }

  @Test
  void sameStateGivesSameBytes() throws Exception {
    Safetensors.write(sample(2), dir.resolve("a"));
    Safetensors.write(sample(2), dir.resolve("b"));
    assertArrayEquals(Files.readAllBytes(dir.resolve("a")), Files.readAllBytes(dir.resolve("b")));
  }

  @Test
  void layoutFollowsTheFormat() throws Exception {
    Path file = dir.resolve("a");
    ModelState state = sample(3);
    Safetensors.write(state, file);
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    long headerLength = bytes.getLong();
    assertEquals(0, headerLength % 8, "data starts 8-byte aligned");
    String header = new String(bytes.array(), 8, (int) headerLength, StandardCharsets.UTF_8);
    assertTrue(header.contains("\"embedding\":{\"dtype\":\"F32\",\"shape\":[5,3],\"data_offsets\":[0,60]}"), header);
    float first = bytes.order(ByteOrder.LITTLE_ENDIAN).getFloat((int) (8 + headerLength));
    assertEquals(state.data(0)[0], first);
  }

  @Test
  void readsAFileWrittenByAnotherWriter() throws Exception {
    // Unpadded header, keys in another order than the data, a scalar: as other writers produce.
    String header = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
        + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}";
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
    out.write(json);
    out.write(ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).putFloat(3f).array());
    Path file = dir.resolve("other");
    Files.write(file, out.toByteArray());
    ModelState state = Safetensors.read(file);
    assertEquals(List.of("a", "b"), state.specs().stream().map(TensorSpec::name).toList());
    assertArrayEquals(new float[] {1.5f}, state.data("a"));
    assertArrayEquals(new float[] {-2f, 3f}, state.data("b"));
  }

  @Test
  void truncatedFileIsRefused() throws Exception {
    Path file = dir.resolve("a");
    Safetensors.write(sample(4), file);
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 4));
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Safetensors.read(file));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void absurdHeaderLengthIsRefused() throws Exception {
    Path file = dir.resolve("a");
    Files.write(file, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Safetensors.read(file));
    assertTrue(e.getMessage().contains("header length"), e.getMessage());
  }

  @Test
  void otherDtypesAndBadJsonAreRefusedWithTheReason() throws Exception {
    assertRefused("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "dtype 'F16'");
    assertRefused("{\"a\":", 4, "not valid JSON");
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8");
    assertRefused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap or overlap");
  }

  private void assertRefused(String header, int dataBytes, String reason) throws Exception {
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer bytes = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    bytes.putLong(json.length).put(json);
    Path file = dir.resolve("bad");
    Files.write(file, bytes.array());
    CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Safetensors.read(file));
    assertTrue(e.getMessage().contains(reason), e.getMessage());
  }
}
