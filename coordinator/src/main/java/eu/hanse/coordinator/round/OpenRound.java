package eu.hanse.coordinator.round;

import eu.hanse.aggregation.Aggregators;
import eu.hanse.aggregation.BlockSink;
import eu.hanse.aggregation.SpoolBlocks;
import eu.hanse.aggregation.SpooledUpdate;
import eu.hanse.aggregation.WeightedMeanFold;
import eu.hanse.coordinator.job.AsyncRounds;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.Refusal;
import eu.hanse.coordinator.job.RefusedException;
import eu.hanse.coordinator.job.SitePhases;
import eu.hanse.coordinator.storage.CheckpointRef;
import eu.hanse.model.UpdateCodec;
import eu.hanse.security.SiteId;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One round between its opening and its commit: who was asked, what was accepted and refused,
 * and the running weighted mean. Guarded by its job's lock; never touched without it.
 */
public final class OpenRound {
  private final java.util.Set<AgentLink> sentTo = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  /** Larger sample counts than this are not plausible for one round of one site. */
  static final long MAX_SAMPLE_COUNT = 1L << 50;

  final long number;
  final CheckpointRef base;
  final List<SiteId> participants;
  final long startNanos = System.nanoTime();
  private final JobSpec job;
  private final long elementCount;
  private WeightedMeanFold fold;
  private final Map<SiteId, AcceptedUpdate> accepted = new LinkedHashMap<>();
  private final Map<SiteId, RefusedUpdate> refused = new LinkedHashMap<>();
  private final Set<SiteId> uploading = new HashSet<>();
  private boolean closed;
  private String aggregationDetail;
  private Double privacyEpsilon;

  /**
   * An accepted update; {@code freshWeight} is its sample count times its site's weight in the job,
   * what the mean divides by (see {@link #weight()} for what it adds), {@code scale} what
   * clipping multiplies it by (1 when not clipped), from its {@code norm} as sent; {@code staleness}
   * is how many rounds behind the open one it was trained (0 in synchronous rounds).
   */
  record AcceptedUpdate(SiteId site, String updateId, long sampleCount, double freshWeight, double trainLoss,
      long bytes, Path spoolFile, double norm, double scale, long staleness, SitePhases phases) {
    /** Its weight in the mean: the fresh weight discounted for staleness. */
    double weight() {
      return freshWeight * AsyncRounds.stalenessWeight(staleness);
    }

    AcceptedUpdate withPhases(SitePhases measured) {
      return new AcceptedUpdate(site, updateId, sampleCount, freshWeight, trainLoss, bytes, spoolFile, norm, scale,
          staleness, measured);
    }

    SpooledUpdate spooled(JobSpec job) {
      return new SpooledUpdate(site.name(), spoolFile, weight(), scale, job.codec(), job.chunkElements());
    }
  }

  record RefusedUpdate(SiteId site, Refusal reason, String message) {}

  /**
   * What an admitted upload must deliver: {@code chunks} chunks of {@code chunkElements} elements
   * (the last may hold fewer), each encoded in {@code codec}.
   */
  public record Admission(OpenRound owner, long round, long elementCount, UpdateCodec codec, int chunkElements, int chunks) {
    /** Elements in chunk c. */
    public int elements(int c) {
      return (int) Math.min(chunkElements, elementCount - (long) c * chunkElements);
    }

    /** The exact encoded size of chunk c. */
    public int bytes(int c) {
      return codec.encodedBytes(elements(c));
    }

    /** Where chunk c starts in the encoded update: every chunk before it is whole. */
    public long offset(int c) {
      return (long) c * codec.encodedBytes(chunkElements);
    }

    /** The encoded update's size. */
    public long totalBytes() {
      return chunks == 0 ? 0 : offset(chunks - 1) + bytes(chunks - 1);
    }
  }

  /** The checkpoint each round it takes updates for trained from, by round: its own base and, for some policies, earlier ones. */
  private final Map<Long, String> bases;
  private final RoundPolicy policy;

  OpenRound(JobSpec job, RoundPolicy policy, long number, CheckpointRef base, List<SiteId> participants,
      long elementCount) {
    this.policy = policy;
    this.bases = Map.copyOf(policy.basesFor(number, base.sha256()));
    this.job = job;
    this.number = number;
    this.base = base;
    this.participants = List.copyOf(participants);
    this.elementCount = elementCount;
    this.fold = folds() ? new WeightedMeanFold(elementCount) : null;
  }

  /**
   * Whether updates are folded into the mean as they arrive: with the mean, when the model takes
   * at most a quarter of the heap the JVM may grow to. A larger model is averaged at the commit from
   * the spooled updates, a block at a time, reading each once and writing nothing; an accumulator
   * file would be read and rewritten whole for every update.
   */
  private boolean folds() {
    return job.aggregator().streaming() && elementCount * Float.BYTES <= Runtime.getRuntime().maxMemory() / 4;
  }

  /** Lets go of the round's fold: call when the round is committed or abandoned. */
  void release() {
    fold = null;
  }

  /** Checks a header against this round; on success the site counts as uploading. */
  Admission admit(SiteId site, UpdateHeader header) {
    if (!header.jobId().equals(job.id().value())) {
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "job '" + header.jobId() + "' is not running here; the open job is "
          + job.id());
    }
    policy.requireTargets(this, site, header);
    if (accepted.containsKey(site) || uploading.contains(site)) {
      throw new RefusedException(Refusal.DUPLICATE_UPDATE, "site " + site + " already "
          + (accepted.containsKey(site) ? "has an accepted update" : "is uploading an update") + " in round " + number);
    }
    if (refused.containsKey(site)) {
      throw new RefusedException(Refusal.DUPLICATE_UPDATE, "site " + site + " had its update refused in round " + number
          + " (" + refused.get(site).reason() + "); it may send again next round");
    }
    if (!header.baseSha256().equals(bases.getOrDefault(header.round(), base.sha256()))) {
      throw new RefusedException(Refusal.STALE_BASE, "update was trained from checkpoint " + abbreviate(header.baseSha256())
          + " but round " + number + " starts from " + abbreviate(base.sha256()));
    }
    if (!header.codec().equals(job.codec().describe())) {
      throw new RefusedException(Refusal.UNSUPPORTED_CODEC, "codec '" + header.codec() + "' is not this job's; job "
          + job.id() + " takes " + job.codec().describe() + " updates");
    }
    if (header.elementCount() != elementCount) {
      throw new RefusedException(Refusal.SHAPE_MISMATCH, "update has " + header.elementCount() + " elements but the model has "
          + elementCount);
    }
    if (header.sampleCount() < 1 || header.sampleCount() > MAX_SAMPLE_COUNT) {
      throw new RefusedException(Refusal.BAD_SAMPLE_COUNT, "sample count " + header.sampleCount() + " is not in [1, 2^50]");
    }
    if (header.nonce().length < 16 || header.nonce().length > 64) {
      throw new RefusedException(Refusal.MALFORMED, "nonce must be 16 to 64 bytes, was " + header.nonce().length);
    }
    if (!Double.isFinite(header.trainLoss())) {
      throw new RefusedException(Refusal.MALFORMED, "train loss is not finite: " + header.trainLoss());
    }
    for (double seconds : new double[] {header.downloadSeconds(), header.queueSeconds(), header.trainSeconds(),
        header.encodeSeconds()}) {
      if (!(seconds >= 0) || Double.isInfinite(seconds)) {
        throw new RefusedException(Refusal.MALFORMED, "a reported time is not a finite number of seconds: " + seconds);
      }
    }
    long chunks = (elementCount + job.chunkElements() - 1) / job.chunkElements();
    if (header.chunkSha256().size() != chunks) {
      throw new RefusedException(Refusal.SHAPE_MISMATCH, "header lists " + header.chunkSha256().size()
          + " chunk hashes but " + elementCount + " elements in chunks of " + job.chunkElements() + " make " + chunks);
    }
    for (byte[] hash : header.chunkSha256()) {
      if (hash.length != 32) {
        throw new RefusedException(Refusal.MALFORMED, "a chunk hash has " + hash.length + " bytes, not 32");
      }
    }
    uploading.add(site);
    return shape();
  }

  /** What every update of this round must deliver. */
  Admission shape() {
    long chunks = (elementCount + job.chunkElements() - 1) / job.chunkElements();
    return new Admission(this, number, elementCount, job.codec(), job.chunkElements(), (int) chunks);
  }

  /** The site's upload broke off: it is not uploading now, and may resume. */
  void interrupted(SiteId site) {
    uploading.remove(site);
  }

  /**
   * Takes a complete, verified, durably spooled update of Euclidean norm {@code norm} (as decoded
   * while it arrived): clipped to the job's bound, and folded into the mean when the job folds.
   */
  void accept(SiteId site, String updateId, UpdateHeader header, Path spoolFile, long bytes, double norm,
      SitePhases phases) {
    requireAcceptable(site);
    take(site, updateId, header.sampleCount(), header.trainLoss(), bytes, spoolFile, norm, number - header.round(),
        phases);
  }

  /** Throws unless an upload from the site may still be accepted: the round is open, the site not refused. */
  void requireAcceptable(SiteId site) {
    if (closed) {
      uploading.remove(site);
      throw new RefusedException(Refusal.NOT_OPEN_ROUND, "round " + number + " closed before the upload completed");
    }
    if (refused.containsKey(site)) {
      uploading.remove(site);
      throw new RefusedException(refused.get(site).reason(), "site " + site + " was refused in round " + number
          + " while uploading: " + refused.get(site).message());
    }
  }

  /**
   * Takes back an update this round accepted before (an earlier attempt, or before the coordinator
   * restarted), from its spool file.
   */
  void restore(SiteId site, String updateId, long sampleCount, double trainLoss, long bytes, Path spoolFile,
      double norm, long trainedFor) {
    take(site, updateId, sampleCount, trainLoss, bytes, spoolFile, norm, number - trainedFor, null);
  }

  private void take(SiteId site, String updateId, long sampleCount, double trainLoss, long bytes, Path spoolFile,
      double norm, long staleness, SitePhases phases) {
    uploading.remove(site);
    double scale = job.privacy().clips() && norm > job.privacy().clipNorm() ? job.privacy().clipNorm() / norm : 1.0;
    long started = System.nanoTime();
    AcceptedUpdate update = new AcceptedUpdate(site, updateId, sampleCount,
        sampleCount * job.schedule().weight(site), trainLoss, bytes, spoolFile, norm, scale, staleness, phases);
    if (fold != null) {
      try {
        foldFromSpool(update);
      } catch (RuntimeException e) {
        // Part of the update may be in the mean already: rebuild it from the accepted updates alone.
        rebuildFold();
        throw e;
      }
    }
    if (phases != null) {
      update = update.withPhases(phases.plusFold((System.nanoTime() - started) / 1e9));
    }
    accepted.put(site, update);
  }

  /**
   * Takes a site's update back out of the round (its certificate was revoked before the round
   * committed): the mean is rebuilt from the other accepted updates' spool files, in their order.
   * Returns true if there was an accepted update to discard.
   */
  boolean discard(SiteId site, String why) {
    uploading.remove(site);
    AcceptedUpdate removed = accepted.remove(site);
    refused.put(site, new RefusedUpdate(site, Refusal.REVOKED, why));
    if (removed == null) {
      return false;
    }
    rebuildFold();
    return true;
  }

  private void rebuildFold() {
    if (fold == null) {
      return;
    }
    fold = new WeightedMeanFold(elementCount);
    for (AcceptedUpdate update : accepted.values()) {
      foldFromSpool(update);
    }
  }

  /** Folds an accepted update from its spool file, decoding one chunk at a time. */
  private void foldFromSpool(AcceptedUpdate update) {
    double weight = update.weight();
    try (SpoolBlocks chunks = new SpoolBlocks(List.of(update.spooled(job)), elementCount)) {
      while (chunks.next()) {
        fold.foldValues(chunks.values()[0], chunks.length(), chunks.offset(), weight);
      }
    }
    fold.completeUpdate(update.freshWeight());
  }

  /**
   * Records a refused update. {@code admitted} says whether its header had been admitted; a header
   * refused while the same site has another upload under way leaves that upload alone.
   */
  void refuse(SiteId site, Refusal reason, String message, boolean admitted) {
    if (admitted) {
      uploading.remove(site);
    }
    if (participants.contains(site) && !accepted.containsKey(site) && !uploading.contains(site)) {
      refused.putIfAbsent(site, new RefusedUpdate(site, reason, message));
    }
  }

  /**
   * True when every participant's update has been accepted or refused. A participant that went
   * offline is still waited for: it may come back and deliver before the deadline.
   */
  boolean everyoneReported() {
    for (SiteId site : participants) {
      if (!accepted.containsKey(site) && !refused.containsKey(site)) {
        return false;
      }
    }
    return true;
  }

  /** True if the site was asked to train in this round and has not delivered or been refused yet. */
  boolean awaits(SiteId site) {
    return !closed && participants.contains(site) && !accepted.containsKey(site) && !refused.containsKey(site)
        && !uploading.contains(site);
  }

  void close() {
    closed = true;
  }

  boolean isClosed() {
    return closed;
  }

  /** Records how the commit aggregated the round, for its status record. */
  void summarise(String detail, Double epsilon) {
    this.aggregationDetail = detail;
    this.privacyEpsilon = epsilon;
  }

  String aggregationDetail() {
    return aggregationDetail;
  }

  Double privacyEpsilon() {
    return privacyEpsilon;
  }

  Map<SiteId, AcceptedUpdate> accepted() {
    return accepted;
  }

  Map<SiteId, RefusedUpdate> refused() {
    return refused;
  }

  /**
   * Hands the round's aggregate of its accepted updates to {@code out}, block by block: the running
   * weighted mean when updates were folded as they arrived, else the mean or the job's aggregator
   * over the spooled updates. Returns what was aggregated, in a line.
   */
  String aggregate(Aggregators aggregators, BlockSink out) {
    if (fold != null) {
      fold.mean(out, job.chunkElements());
      return "weighted mean of " + fold.updates();
    }
    if (job.aggregator().streaming()) {
      double divisor = accepted.values().stream().mapToDouble(AcceptedUpdate::freshWeight).sum();
      List<SpooledUpdate> spooled = accepted.values().stream().map(update -> update.spooled(job)).toList();
      Aggregators.weightedMean(spooled, divisor, elementCount, out);
      return "weighted mean of " + spooled.size();
    }
    // In site order, not arrival order, so that ties (Krum's) and sums come out the same every time.
    List<SpooledUpdate> spooled = accepted.values().stream().map(update -> update.spooled(job))
        .sorted(Comparator.comparing(SpooledUpdate::site)).toList();
    return aggregators.aggregate(job.aggregator(), spooled, elementCount, out);
  }

  static String abbreviate(String sha) {
    return sha.length() > 12 ? sha.substring(0, 12) : sha;
  }

  /**
   * True the first time for each link: a site that connects while the job sends out this work gets
   * it from the job or from its connect handler, never from both.
   */
  boolean firstSendTo(AgentLink link) {
    return sentTo.add(link);
  }
}
