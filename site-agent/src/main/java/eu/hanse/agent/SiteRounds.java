package eu.hanse.agent;

import eu.hanse.agent.trainer.ExternalTrainer;
import eu.hanse.agent.trainer.HeldOutLoss;
import eu.hanse.agent.trainer.LocalTrainer;
import eu.hanse.agent.trainer.StopSignal;
import eu.hanse.agent.trainer.SyntheticTrainer;
import eu.hanse.agent.trainer.TrainResult;
import eu.hanse.agent.trainer.TrainerLauncher;
import eu.hanse.model.FlatArrays;
import eu.hanse.model.FlatView;
import eu.hanse.model.ModelState;
import eu.hanse.model.UpdateCodec;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The site's part of a round, in the agent's own records and no wire types: it trains from the
 * global checkpoint (the built-in model, the site's own command here or as a batch job, or a
 * synthetic model's random update), turns the result into the update to send with the site's
 * error feedback, and evaluates checkpoints. {@link SiteAgent} hands it the coordinator's work as
 * {@link AgentWire} translates it, and sends what it makes.
 *
 * <p>One piece of work at a time, on the agent's thread; {@link #current()} and a stop through it
 * may come from the heartbeat's thread.
 */
final class SiteRounds {
  private static final Logger log = LoggerFactory.getLogger(SiteRounds.class);

  /** Where the checkpoints a piece of work names come from: the coordinator, downloaded and checked. */
  interface Checkpoints {
    Path fetchFile(CheckpointAddress checkpoint);

    ModelState fetch(CheckpointAddress checkpoint);
  }

  /** What a round's training came to: an update to send, or a failure to report. */
  sealed interface Outcome permits Trained, Failed {}

  record Trained(TrainedUpdate update) implements Outcome {}

  /** The site's own trainer failed; {@code runId} names the attempt, so its device time counts once. */
  record Failed(String runId, ExternalTrainer.Failure failure) implements Outcome {}

  /** The job and round the agent trains for, with the signal that stops that work. */
  record Work(String job, long round, String runId, StopSignal stop) {}

  private final String site;
  private final Attack attack;
  private final LocalTrainer trainer;
  private final Optional<ExternalTrainer> ownTrainer;
  private final Progress progress;
  /** Per job, what the codec dropped from the last update, sent with the next (error feedback). */
  private final Map<String, float[]> residuals = new HashMap<>();
  private volatile Work work;

  SiteRounds(String site, Attack attack, LocalTrainer trainer, Optional<ExternalTrainer> ownTrainer,
      Progress progress) {
    this.site = site;
    this.attack = attack;
    this.trainer = trainer;
    this.ownTrainer = ownTrainer;
    this.progress = progress;
  }

  /** The training under way, if the site's own trainer runs; null otherwise. */
  Work current() {
    return work;
  }

  /** Trains a round from its base checkpoint; {@code download} is the seconds fetching it took. */
  Outcome train(TrainWork task, Path base, Checkpoints checkpoints, double download) {
    long seed = task.seed() ^ siteSeed(site);
    if (SyntheticTrainer.handles(base)) {
      log.info("round {}: synthetic model, sending a random update", task.round());
      return new Trained(new TrainedUpdate(task, trainer.trainSamples(), 0, 1, 0, SyntheticTrainer.update(base, seed),
          task.updateCodec(), null, download, 0, 0));
    }
    if (ownTrainer.isPresent()) {
      return trainExternally(task, base, checkpoints, seed, download);
    }
    ModelState global = checkpoints.fetch(task.base());
    TrainResult result = trainer.train(global, task.localSteps(), task.batchSize(), task.learningRate(),
        task.weightDecay(), seed, task.proximalMu(), task.timeBudget());
    return trained(task, global, result.model(), trainer.trainSamples(), result.meanLoss(), result.steps(),
        new TrainerLauncher.Usage(0, result.seconds(), result.seconds()), seed, download);
  }

  /** A round trained by the site's own command; a failure is reported, not thrown. */
  private Outcome trainExternally(TrainWork task, Path base, Checkpoints checkpoints, long seed, double download) {
    ModelState global = checkpoints.fetch(task.base());
    progress.start("train", 1);
    Work round = new Work(task.job(), task.round(), UUID.randomUUID().toString(), new StopSignal());
    work = round;
    ExternalTrainer.Outcome outcome;
    try {
      outcome = ownTrainer.orElseThrow().train(base, global, new ExternalTrainer.Round(task.job(), task.round(),
          task.localSteps(), task.timeBudget(), seed, task.batchSize(), task.learningRate(), task.weightDecay(),
          task.proximalMu()), round.stop(), phase -> progress.start(phase, 1));
    } catch (ExternalTrainer.Failure e) {
      log.atWarn().addKeyValue("reason", e.reason().name()).log("round {}: the site's trainer failed: {}: {}",
          task.round(), e.reason(), e.getMessage());
      return new Failed(round.runId(), e);
    } finally {
      work = null;
    }
    Object steps = outcome.metrics().get("steps");
    return trained(task, global, outcome.model(), outcome.samples(), outcome.loss(),
        steps instanceof Number number ? number.intValue() : task.localSteps(), outcome.usage(), seed, download);
  }

  /**
   * What a round's training made of {@code global}: the difference, with the site's error feedback
   * for the job's codec (or, in tests, a malicious update in its place).
   */
  private Trained trained(TrainWork task, ModelState global, ModelState trainedModel, long samples, double loss,
      int steps, TrainerLauncher.Usage usage, long seed, double download) {
    float[] delta = FlatView.difference(global, trainedModel);
    UpdateCodec codec = task.updateCodec();
    float[] residual = errorFeedback(task.job(), codec, delta);
    if (attack.kind() != Attack.Kind.NONE) {
      attack.apply(delta, seed);
      log.warn("round {}: sending a malicious update ({}) instead of the trained one", task.round(), attack.describe());
    }
    log.info("round {}: trained {} steps in {} s, {} samples, train loss {}", task.round(), steps,
        String.format(Locale.ROOT, "%.1f", usage.trainSeconds()), samples, String.format(Locale.ROOT, "%.4f", loss));
    return new Trained(new TrainedUpdate(task, samples, loss, steps, usage.deviceSeconds(), FlatArrays.of(delta), codec,
        residual, download, usage.queueSeconds(), usage.trainSeconds()));
  }

  /**
   * Error feedback: adds to {@code delta} what the codec dropped from the job's previous update, and
   * returns the array that receives what it drops from this one; null for fp32, which drops nothing.
   */
  private float[] errorFeedback(String job, UpdateCodec codec, float[] delta) {
    if (codec.kind() == UpdateCodec.Kind.FP32) {
      residuals.remove(job);
      return null;
    }
    float[] residual = residuals.get(job);
    if (residual != null && residual.length == delta.length) {
      for (int i = 0; i < delta.length; i++) {
        delta[i] += residual[i];
      }
    } else {
      residual = new float[delta.length];
      residuals.put(job, residual);
    }
    return residual;
  }

  /** The site's held-out loss of the checkpoint the work names. */
  HeldOutLoss evaluate(EvaluateWork task, Checkpoints checkpoints) {
    Path file = checkpoints.fetchFile(task.checkpoint());
    HeldOutLoss loss = SyntheticTrainer.handles(file) ? SyntheticTrainer.evaluate(file)
        : trainer.evaluate(checkpoints.fetch(task.checkpoint()));
    log.info("checkpoint of round {}: held-out loss {} over {} characters", task.checkpoint().round(),
        String.format(Locale.ROOT, "%.4f", loss.loss()), loss.samples());
    return loss;
  }

  /** Mixes the site into the round's seed, so sites sample differently in the same round. */
  private static long siteSeed(String name) {
    long h = 1125899906842597L;
    for (int i = 0; i < name.length(); i++) {
      h = 31 * h + name.charAt(i);
    }
    return h;
  }
}
