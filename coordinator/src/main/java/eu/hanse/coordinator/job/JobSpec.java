package eu.hanse.coordinator.job;

import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.model.UpdateCodec;
import java.time.Duration;
import java.util.Objects;

/**
 * A training job as the coordinator runs it.
 *
 * @param id the job's id
 * @param rounds rounds to run, at least 1
 * @param localSteps optimizer steps each site runs per round (H in DiLoCo)
 * @param minSites sites that must be online before a round opens, and updates a round needs to commit
 * @param startSites sites that must be online before the first round opens, at least {@code minSites}
 * @param roundDeadline how long a round waits for updates before it closes with what it has
 * @param trainer the sites' local training settings
 * @param outer the coordinator's outer optimizer
 * @param seed base seed for the sites' sampling; round r uses a seed derived from it
 * @param maxChunkBytes the size of every update chunk but the last, a multiple of 4
 * @param aggregator how a round combines its accepted updates
 * @param privacy the update filters: clipping, and Gaussian noise on the aggregate
 * @param codec how sites encode their updates on the wire
 * @param schedule who takes part and when: named sites and their weights, required sites, the
 *     straggler policy, maintenance windows, GPU-hour budgets, a start time
 */
public record JobSpec(
    JobId id,
    int rounds,
    int localSteps,
    int minSites,
    int startSites,
    Duration roundDeadline,
    TrainerSettings trainer,
    OuterOptimizerSpec outer,
    long seed,
    int maxChunkBytes,
    AggregatorSpec aggregator,
    PrivacySpec privacy,
    UpdateCodec codec,
    JobSchedule schedule) {
  /** Chunk size for updates: large enough to amortise per-message cost, far below gRPC's limits. */
  public static final int DEFAULT_CHUNK_BYTES = 1 << 20;

  /** Elements per update chunk, whatever the codec: a chunk of fp32 values fills maxChunkBytes. */
  public int chunkElements() {
    return maxChunkBytes / Float.BYTES;
  }

  public JobSpec {
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds must be at least 1, was " + rounds);
    }
    if (localSteps < 1) {
      throw new IllegalArgumentException("local steps must be at least 1, was " + localSteps);
    }
    if (minSites < 1) {
      throw new IllegalArgumentException("min sites must be at least 1, was " + minSites);
    }
    if (startSites < minSites) {
      throw new IllegalArgumentException("start sites (" + startSites + ") must be at least min sites (" + minSites + ")");
    }
    if (roundDeadline.isNegative() || roundDeadline.isZero()) {
      throw new IllegalArgumentException("round deadline must be positive, was " + roundDeadline);
    }
    if (maxChunkBytes < 4 || maxChunkBytes % 4 != 0 || maxChunkBytes > (4 << 20) - 4096) {
      throw new IllegalArgumentException(
          "chunk size must be a multiple of 4 between 4 bytes and just under 4 MiB, was " + maxChunkBytes);
    }
    Objects.requireNonNull(aggregator, "aggregator");
    Objects.requireNonNull(privacy, "privacy");
    Objects.requireNonNull(codec, "codec");
    Objects.requireNonNull(schedule, "schedule");
    if (!schedule.sites().isEmpty() && startSites > schedule.sites().size()) {
      throw new IllegalArgumentException("start sites (" + startSites + ") exceed the " + schedule.sites().size()
          + " sites the job names");
    }
    if (!schedule.sites().isEmpty() && schedule.requiredSites().size() > schedule.sites().size()) {
      throw new IllegalArgumentException("more required sites than sites");
    }
    if (schedule.async() != null && !aggregator.streaming()) {
      throw new IllegalArgumentException("asynchronous rounds fold updates as they come, with --aggregator mean; "
          + aggregator.describe() + " needs every update of a round at once");
    }
    if (privacy.noisy() && aggregator.kind() != AggregatorSpec.Kind.MEAN) {
      throw new IllegalArgumentException("--dp-noise is calibrated for --aggregator mean, not "
          + aggregator.describe() + ": the noise bounds what one clipped site can change in a weighted mean");
    }
  }

  /** When the job's rounds stop waiting for slow sites. */
  public Stragglers stragglers() {
    return schedule.stragglers();
  }

  /** A job open to every site, starting at once. */
  public JobSpec(JobId id, int rounds, int localSteps, int minSites, int startSites, Duration roundDeadline,
      TrainerSettings trainer, OuterOptimizerSpec outer, long seed, int maxChunkBytes, AggregatorSpec aggregator,
      PrivacySpec privacy, UpdateCodec codec) {
    this(id, rounds, localSteps, minSites, startSites, roundDeadline, trainer, outer, seed, maxChunkBytes, aggregator,
        privacy, codec, JobSchedule.OPEN);
  }

  /** A job with the weighted mean, no filters, and fp32 updates. */
  public JobSpec(JobId id, int rounds, int localSteps, int minSites, int startSites, Duration roundDeadline,
      TrainerSettings trainer, OuterOptimizerSpec outer, long seed, int maxChunkBytes) {
    this(id, rounds, localSteps, minSites, startSites, roundDeadline, trainer, outer, seed, maxChunkBytes,
        AggregatorSpec.mean(), PrivacySpec.none(), UpdateCodec.fp32());
  }

  /** The sampling seed of a round: the same for every attempt at it and every resend of its work. */
  public long roundSeed(long round) {
    return seed * 1_000_003L + round;
  }
}
