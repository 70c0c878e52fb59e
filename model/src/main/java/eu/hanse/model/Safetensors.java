package eu.hanse.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * naming each tensor's dtype, shape and byte range, then the raw little-endian tensor data.
 *
 * <p>Hanse writes float32 ("F32") tensors only, in the model's order, with string metadata under
 * {@code __metadata__}. The output is deterministic (same state, same bytes), which is what makes
 * content addressing by SHA-256 work. Data is streamed through a fixed buffer, so a model of any
 * size is written and read without a second copy in memory.
 */
public final class Safetensors {
  /** Refuse headers larger than this: a real header is a few kilobytes per tensor. */
  static final long MAX_HEADER_BYTES = 64L << 20;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String METADATA = "__metadata__";

  private Safetensors() {}

  /** Elements moved per block when a whole model is copied: 1 MiB of float32. */
  static final int BLOCK_ELEMENTS = 1 << 18;

  /** Writes the state to {@code file} (created or truncated) and forces it to disk. */
  public static void write(ModelState state, Path file) {
    try (SafetensorsWriter writer = new SafetensorsWriter(file, state.specs(), state.metadata())) {
      writer.writeAll(FlatArrays.of(state));
      writer.finish();
    }
  }

  /** Reads a whole float32 safetensors file into memory; CheckpointFormatException says what is wrong with a bad one. */
  public static ModelState read(Path file) {
    try (SafetensorsFile in = SafetensorsFile.open(file)) {
      List<float[]> data = new ArrayList<>();
      for (TensorSpec spec : in.specs()) {
        data.add(new float[spec.elementCount()]);
      }
      ModelState state = new ModelState(in.specs(), data, in.metadata());
      float[] block = new float[(int) Math.min(BLOCK_ELEMENTS, Math.max(1, in.length()))];
      FlatArrays.Flat target = FlatArrays.of(state);
      for (long offset = 0; offset < in.length(); offset += block.length) {
        int count = (int) Math.min(block.length, in.length() - offset);
        in.read(offset, block, count);
        target.write(offset, block, count);
      }
      return state;
    }
  }

  /** A file's layout as its header gives it; the values start at byte {@code dataStart}. */
  record Header(List<TensorSpec> specs, Map<String, String> metadata, long dataStart) {
    long elementCount() {
      long count = 0;
      for (TensorSpec spec : specs) {
        count += spec.elementCount();
      }
      return count;
    }
  }

  /** Reads and checks the header of an open file: every tensor F32, their data contiguous and filling the file. */
  static Header readHeader(FileChannel in, Path file) throws IOException {
    long size = in.size();
    if (size < 8) {
      throw new CheckpointFormatException(file + ": " + size + " bytes, too short for a safetensors header");
    }
    ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(in, lengthBytes, file);
    long headerLength = lengthBytes.flip().getLong();
    if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
      throw new CheckpointFormatException(file + ": header length " + Long.toUnsignedString(headerLength)
          + " does not fit a file of " + size + " bytes");
    }
    ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
    readFully(in, headerBytes, file);
    List<Entry> entries = parseHeader(file, headerBytes.array(), size - 8 - headerLength);
    List<TensorSpec> specs = entries.subList(1, entries.size()).stream().map(Entry::spec).toList();
    return new Header(specs, entries.get(0).metadata, 8 + headerLength);
  }

  static byte[] header(ModelState state) {
    return header(state.specs(), state.metadata());
  }

  static byte[] header(List<TensorSpec> specs, Map<String, String> metadataEntries) {
    ObjectNode root = JSON.createObjectNode();
    if (!metadataEntries.isEmpty()) {
      ObjectNode metadata = root.putObject(METADATA);
      metadataEntries.entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .forEach(e -> metadata.put(e.getKey(), e.getValue()));
    }
    long offset = 0;
    for (TensorSpec spec : specs) {
      ObjectNode tensor = root.putObject(spec.name());
      tensor.put("dtype", "F32");
      ArrayNode shape = tensor.putArray("shape");
      spec.shape().forEach(shape::add);
      long end = offset + 4L * spec.elementCount();
      tensor.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    // The data that follows starts 8-byte aligned, as the format's own writer does.
    int padded = (json.length + 7) / 8 * 8;
    byte[] header = new byte[padded];
    System.arraycopy(json, 0, header, 0, json.length);
    java.util.Arrays.fill(header, json.length, padded, (byte) ' ');
    return header;
  }

  /** The metadata entry first (spec null), then the tensors in data order. */
  private static List<Entry> parseHeader(Path file, byte[] header, long dataBytes) {
    JsonNode root;
    try {
      root = JSON.readTree(new String(header, StandardCharsets.UTF_8).strip());
    } catch (IOException e) {
      throw new CheckpointFormatException(file + ": header is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new CheckpointFormatException(file + ": header is not a JSON object");
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    List<Entry> tensors = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (field.getKey().equals(METADATA)) {
        field.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
      } else {
        tensors.add(parseTensor(file, field.getKey(), field.getValue()));
      }
    }
    tensors.sort(Comparator.comparingLong(e -> e.begin));
    long expected = 0;
    for (Entry entry : tensors) {
      if (entry.begin != expected) {
        throw new CheckpointFormatException(file + ": tensor " + entry.spec.name() + " starts at byte "
            + entry.begin + ", expected " + expected + " (gap or overlap)");
      }
      expected = entry.end;
    }
    if (expected != dataBytes) {
      throw new CheckpointFormatException(file + ": tensors cover " + expected + " bytes but the file holds "
          + dataBytes + " bytes of data (truncated or trailing bytes)");
    }
    List<Entry> entries = new ArrayList<>();
    entries.add(new Entry(null, 0, 0, metadata));
    entries.addAll(tensors);
    return entries;
  }

  private static Entry parseTensor(Path file, String name, JsonNode node) {
    String where = file + ": tensor " + name;
    if (!node.isObject()) {
      throw new CheckpointFormatException(where + " is not a JSON object");
    }
    String dtype = node.path("dtype").asText("");
    if (!dtype.equals("F32")) {
      throw new CheckpointFormatException(where + " has dtype '" + dtype + "'; Hanse reads F32 only");
    }
    JsonNode shapeNode = node.path("shape");
    JsonNode offsets = node.path("data_offsets");
    if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2
        || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
      throw new CheckpointFormatException(where + " needs a shape array and two data_offsets");
    }
    List<Integer> shape = new ArrayList<>();
    for (JsonNode dim : shapeNode) {
      if (!dim.canConvertToInt()) {
        throw new CheckpointFormatException(where + " has a non-integer dimension " + dim);
      }
      shape.add(dim.asInt());
    }
    // A scalar (shape []) is one element; store it as shape [1] so every tensor is an array.
    if (shape.isEmpty()) {
      shape.add(1);
    }
    TensorSpec spec;
    try {
      spec = new TensorSpec(name, shape);
    } catch (IllegalArgumentException e) {
      throw new CheckpointFormatException(where + ": " + e.getMessage(), e);
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin < 0 || end - begin != 4L * spec.elementCount()) {
      throw new CheckpointFormatException(where + " spans bytes [" + begin + ", " + end + ") but shape "
          + shape + " needs " + 4L * spec.elementCount());
    }
    return new Entry(spec, begin, end, Map.of());
  }

  private record Entry(TensorSpec spec, long begin, long end, Map<String, String> metadata) {}

  private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
    buffer.flip();
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
    buffer.clear();
  }

  private static void readFully(FileChannel in, ByteBuffer buffer, Path file) throws IOException {
    while (buffer.hasRemaining()) {
      if (in.read(buffer) < 0) {
        throw new CheckpointFormatException(file + ": ends early (truncated)");
      }
    }
  }

}
