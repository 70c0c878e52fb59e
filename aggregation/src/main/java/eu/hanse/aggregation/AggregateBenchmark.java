package eu.hanse.aggregation;

import eu.hanse.kernels.PeakMemory;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ChunkCodecs;
import eu.hanse.model.UpdateCodec;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Measures the coordinator's weighted-mean fold: N updates of P parameters arrive as encoded chunks
 * (fp32, int8, int4), each chunk is decoded and folded into one accumulator, as a round does. Next
 * to it, a plain copy of the same fp32 bytes in the same run, and the heap's peak while folding,
 * which must not grow with N.
 *
 * <p>The chunks are drawn from a small pool of random encoded chunks, so the benchmark itself holds
 * a few MiB, not N updates. The fold's rate counts the folding of the updates; the final division
 * by the total weight, once per round whatever N is, is timed apart ({@link Result#meanSeconds}).
 * Each figure is the best of {@code repeats} runs after one warm-up; the peak is the highest seen
 * in those runs.
 * Not thread-safe.
 */
public final class AggregateBenchmark {
  /** Elements per chunk: 1 MiB of fp32, as the wire's default chunk. */
  static final int CHUNK = 1 << 18;
  private static final int POOL = 4;

  /**
   * @param sites N, updates folded per round
   * @param params P, elements per update
   * @param repeats timed rounds per codec; the best counts
   */
  public record Options(int sites, int params, int repeats) {
    public Options {
      if (sites < 1 || params < 1 || repeats < 1) {
        throw new IllegalArgumentException("sites, params and repeats must be positive; got "
            + sites + ", " + params + ", " + repeats);
      }
    }
  }

  /**
   * One codec's fold.
   *
   * @param aggregateGBps encoded update bytes folded per second
   * @param fp32EquivalentGBps the same rate counted as fp32 bytes (4 per element)
   * @param ratioToCopy fp32EquivalentGBps over the copy's rate
   * @param peakHeapBytes the heap's peak while folding N updates
   * @param meanSeconds the final division of the accumulator by the total weight, once per round
   */
  public record Result(double aggregateGBps, double fp32EquivalentGBps, double ratioToCopy, long peakHeapBytes,
      double meanSeconds) {}

  public record Report(Options options, long modelBytes, double copyGBps, Map<String, Result> codecs) {}

  private final Options options;
  private final TensorBackend backend;

  public AggregateBenchmark(Options options, TensorBackend backend) {
    this.options = options;
    this.backend = backend;
  }

  public Report run() {
    double copy = copyGBps();
    Map<String, Result> codecs = new LinkedHashMap<>();
    for (String name : List.of("fp32", "int8", "int4")) {
      codecs.put(name, fold(UpdateCodec.parse(name), copy));
    }
    return new Report(options, 4L * options.params(), copy, codecs);
  }

  /** N copies of a P-float array: the bytes a fold reads from its chunks, moved as cheaply as Java can. */
  private double copyGBps() {
    float[] source = new float[options.params()];
    float[] target = new float[options.params()];
    double best = Double.MAX_VALUE;
    for (int r = 0; r <= options.repeats(); r++) {
      long start = System.nanoTime();
      for (int u = 0; u < options.sites(); u++) {
        System.arraycopy(source, 0, target, 0, source.length);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      best = r == 0 ? best : Math.min(best, seconds);
    }
    return 4.0 * options.params() * options.sites() / best / 1e9;
  }

  private Result fold(UpdateCodec codec, double copyGBps) {
    ChunkCodecs codecs = new ChunkCodecs(codec, backend);
    List<ByteBuffer> pool = pool(codecs, CHUNK);
    int tail = options.params() % CHUNK;
    ByteBuffer tailChunk = tail == 0 ? null : pool(codecs, tail).get(0);
    long encodedBytes = encodedBytes(codec);
    double best = Double.MAX_VALUE;
    double bestMean = Double.MAX_VALUE;
    long peak = 0;
    for (int r = 0; r <= options.repeats(); r++) {
      System.gc();
      PeakMemory.resetHeap();
      WeightedMeanFold fold = new WeightedMeanFold(options.params());
      long start = System.nanoTime();
      foldUpdates(fold, codecs, pool, tailChunk);
      long folded = System.nanoTime();
      fold.mean();
      long end = System.nanoTime();
      if (r > 0) {
        // The warm-up round's garbage (code not yet compiled allocates) is not the fold's memory.
        peak = Math.max(peak, PeakMemory.heapBytes());
        best = Math.min(best, (folded - start) / 1e9);
        bestMean = Math.min(bestMean, (end - folded) / 1e9);
      }
    }
    double sites = options.sites();
    double fp32 = 4.0 * options.params() * sites / best / 1e9;
    return new Result(encodedBytes * sites / best / 1e9, fp32, fp32 / copyGBps, peak, bestMean);
  }

  /** Every site's update decoded chunk by chunk and folded, as a round does. */
  private void foldUpdates(WeightedMeanFold fold, ChunkCodecs codecs, List<ByteBuffer> pool, ByteBuffer tailChunk) {
    float[] decoded = new float[CHUNK];
    for (int u = 0; u < options.sites(); u++) {
      double weight = 1000 + u;
      int chunk = 0;
      for (long offset = 0; offset < options.params(); offset += CHUNK, chunk++) {
        int n = (int) Math.min(CHUNK, options.params() - offset);
        ByteBuffer encoded = n == CHUNK ? pool.get((u + chunk) % pool.size()) : tailChunk;
        codecs.decode(encoded.duplicate(), n, decoded);
        fold.foldValues(decoded, n, offset, weight);
      }
      fold.completeUpdate(weight);
    }
  }

  private List<ByteBuffer> pool(ChunkCodecs codecs, int n) {
    SplittableRandom random = new SplittableRandom(n);
    List<ByteBuffer> chunks = new ArrayList<>();
    float[] values = new float[n];
    for (int c = 0; c < POOL; c++) {
      for (int i = 0; i < n; i++) {
        values[i] = (float) (random.nextGaussian() * 1e-3);
      }
      chunks.add(codecs.encode(values, n));
    }
    return chunks;
  }

  private long encodedBytes(UpdateCodec codec) {
    long full = options.params() / CHUNK;
    int tail = options.params() % CHUNK;
    return full * codec.encodedBytes(CHUNK) + (tail == 0 ? 0 : codec.encodedBytes(tail));
  }
}
