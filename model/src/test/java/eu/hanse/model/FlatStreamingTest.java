package eu.hanse.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Models read and written a block at a time: checkpoint files, arrays, and synthetic values. */
class FlatStreamingTest {
  @TempDir Path dir;

  private static ModelState model() {
    Random random = new Random(11);
    List<TensorSpec> specs = List.of(TensorSpec.of("a", 3, 5), TensorSpec.of("b", 7), TensorSpec.of("c", 2, 2));
    List<float[]> data = specs.stream().map(spec -> {
      float[] values = new float[spec.elementCount()];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian();
      }
      return values;
    }).toList();
    return new ModelState(specs, data, Map.of("hanse.round", "3"));
  }

  /** Blocks written in any order, across tensor boundaries, make the same bytes as the whole model written at once. */
  @Test
  void blocksWrittenInAnyOrderMakeTheSameFile() throws Exception {
    ModelState model = model();
    Path whole = dir.resolve("whole.safetensors");
    Safetensors.write(model, whole);
    Path blocks = dir.resolve("blocks.safetensors");
    FlatArrays.Flat flat = FlatArrays.of(model);
    try (SafetensorsWriter writer = new SafetensorsWriter(blocks, model.specs(), model.metadata())) {
      for (long offset = 24; offset >= 0; offset -= 4) {
        int count = (int) Math.min(4, 26 - offset);
        float[] block = new float[count];
        flat.read(offset, block, count);
        writer.write(offset, block, count);
      }
      writer.finish();
    }
    assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(blocks));
  }

  @Test
  void aFileReadsInPlaceBlockByBlock() {
    ModelState model = model();
    Path file = dir.resolve("m.safetensors");
    Safetensors.write(model, file);
    try (SafetensorsFile in = SafetensorsFile.open(file)) {
      assertEquals(26, in.length());
      assertEquals(model.specs(), in.specs());
      assertEquals("3", in.metadata().get("hanse.round"));
      float[] block = new float[5];
      in.read(13, block, 5);
      float[] expected = new float[5];
      FlatArrays.of(model).read(13, expected, 5);
      assertArrayEquals(expected, block, "a block across tensors a and b");
      assertEquals(model.data("b")[0], block[2]);
      assertThrows(IllegalArgumentException.class, () -> in.read(24, block, 3));
      assertThrows(IllegalArgumentException.class, () -> in.read(-1, block, 1));
    }
  }

  @Test
  void valuesNeverWrittenAreZeroAndTheFileHasItsFullSize() {
    ModelState model = model();
    Path file = dir.resolve("sparse.safetensors");
    try (SafetensorsWriter writer = new SafetensorsWriter(file, model.specs(), Map.of())) {
      writer.write(0, new float[] {1, 2}, 2);
      writer.finish();
    }
    ModelState read = Safetensors.read(file);
    assertEquals(1f, read.data("a")[0]);
    assertEquals(0f, read.data("c")[3]);
  }

  @Test
  void syntheticValuesAreTheSameAtAnyOffsetAndWithinTheirScale() {
    SyntheticValues values = new SyntheticValues(1_000, 42, 0.5);
    float[] all = new float[1_000];
    values.read(0, all, 1_000);
    float[] part = new float[10];
    values.read(500, part, 10);
    assertArrayEquals(java.util.Arrays.copyOfRange(all, 500, 510), part);
    double mean = 0;
    for (float value : all) {
      assertTrue(value >= -0.5f && value < 0.5f, "value " + value);
      mean += value / all.length;
    }
    assertEquals(0, mean, 0.05, "centred");
    float[] other = new float[10];
    new SyntheticValues(1_000, 43, 0.5).read(500, other, 10);
    assertNotEquals(part[0], other[0], "another seed, other values");
  }

  @Test
  void aSyntheticModelIsSplitInTensorsAndMarkedInItsMetadata() {
    long parameters = 2L * SyntheticModel.TENSOR_ELEMENTS + 5;
    ModelSource model = SyntheticModel.create(parameters, 1);
    assertEquals(List.of(TensorSpec.of("layer.0000", SyntheticModel.TENSOR_ELEMENTS),
        TensorSpec.of("layer.0001", SyntheticModel.TENSOR_ELEMENTS), TensorSpec.of("layer.0002", 5)), model.specs());
    assertTrue(SyntheticModel.isSynthetic(model.metadata()));
    assertEquals(parameters, model.values().length());
    assertThrows(IllegalArgumentException.class, () -> SyntheticModel.create(0, 1));
    assertThrows(IllegalArgumentException.class, () -> SyntheticModel.create(SyntheticModel.MAX_PARAMETERS + 1, 1));
  }
}
