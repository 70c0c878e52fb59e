package eu.hanse.agent.trainer;

import eu.hanse.agent.data.SiteData;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ModelState;
import java.util.Random;

/**
 * Trains the built-in model on one site's data with AdamW, and evaluates models on its held-out text.
 *
 * <p>The AdamW moments persist from round to round while the model's shape stays the same, as in
 * DiLoCo, where each worker keeps its inner optimizer's state. Not thread-safe: one round at a time.
 */
public final class LocalTrainer {
  /** Held-out positions evaluated at most, evenly spaced, to bound evaluation time. */
  public static final int DEFAULT_EVAL_POSITIONS = 8192;
  private static final float BETA1 = 0.9f;
  private static final float BETA2 = 0.999f;
  private static final float EPSILON = 1e-8f;
  private static final int EVAL_BATCH = 256;

  private eu.hanse.agent.Progress progress = new eu.hanse.agent.Progress();
  private final TensorBackend backend;
  private final SiteData data;
  private final int evalPositions;
  private CharModel model;
  private ModelState firstMoment;
  private ModelState secondMoment;
  private long step;

  public LocalTrainer(TensorBackend backend, SiteData data, int evalPositions) {
    if (evalPositions < 1) {
      throw new IllegalArgumentException("evaluation positions must be at least 1, was " + evalPositions);
    }
    this.backend = backend;
    this.data = data;
    this.evalPositions = evalPositions;
  }

  public SiteData data() {
    return data;
  }

  /** Tells {@code progress} of each step from now on (a share of the time budget, when training has one). */
  public void reportProgressTo(eu.hanse.agent.Progress progress) {
    this.progress = progress;
  }

  /** Training examples this site holds: the characters of its training text. */
  public long trainSamples() {
    return data.train().length;
  }

  /** Runs {@code steps} AdamW steps from a copy of {@code start}; {@code start} is not changed. */
  public TrainResult train(ModelState start, int steps, int batch, double learningRate, double weightDecay, long seed) {
    return train(start, steps, batch, learningRate, weightDecay, seed, 0);
  }

  /**
   * As {@link #train(ModelState, int, int, double, double, long)}, with FedProx's proximal term
   * μ/2·‖w − start‖² added to the loss when {@code proximalMu > 0}: its gradient μ·(w − start) is
   * added to each step's gradient. The reported loss is the data loss alone.
   */
  public TrainResult train(ModelState start, int steps, int batch, double learningRate, double weightDecay, long seed,
      double proximalMu) {
    return train(start, steps, batch, learningRate, weightDecay, seed, proximalMu, null);
  }

  /**
   * As above, and with a time budget (when not null) instead of a number of steps: steps run until
   * the budget is spent, at least one; the result says how many ran.
   */
  public TrainResult train(ModelState start, int steps, int batch, double learningRate, double weightDecay, long seed,
      double proximalMu, java.time.Duration timeBudget) {
    long begin = System.nanoTime();
    long end = timeBudget == null ? Long.MAX_VALUE : begin + timeBudget.toNanos();
    int maxSteps = timeBudget == null ? steps : Integer.MAX_VALUE;
    CharModelConfig config = CharModel.configOf(start);
    CharModel model = model(config, batch);
    int[] text = data.train();
    if (text.length <= config.context()) {
      throw new IllegalArgumentException(data.source() + ": training text of " + text.length
          + " characters is shorter than the model's context of " + config.context());
    }
    if (firstMoment == null || !firstMoment.sameLayout(start)) {
      firstMoment = ModelState.zerosLike(start);
      secondMoment = ModelState.zerosLike(start);
      step = 0;
    }
    ModelState params = start.copy();
    ModelState grads = ModelState.zerosLike(start);
    Random random = new Random(seed);
    int[] positions = new int[batch];
    double lossSum = 0;
    int done = 0;
    progress.start("train", timeBudget == null ? steps : timeBudget.toMillis());
    for (; done < maxSteps && (done == 0 || System.nanoTime() < end); done++) {
      progress.reached(timeBudget == null ? done : (System.nanoTime() - begin) / 1_000_000);
      for (int r = 0; r < batch; r++) {
        positions[r] = config.context() + random.nextInt(text.length - config.context());
      }
      for (int t = 0; t < grads.tensorCount(); t++) {
        java.util.Arrays.fill(grads.data(t), 0f);
      }
      lossSum += model.forwardBackward(params, text, positions, batch, grads) / batch;
      if (proximalMu > 0) {
        for (int t = 0; t < params.tensorCount(); t++) {
          int n = params.data(t).length;
          backend.axpy((float) proximalMu, params.data(t), grads.data(t), n);
          backend.axpy((float) -proximalMu, start.data(t), grads.data(t), n);
        }
      }
      step++;
      for (int t = 0; t < params.tensorCount(); t++) {
        boolean decays = !params.specs().get(t).name().endsWith(".bias");
        backend.adamW(params.data(t), grads.data(t), firstMoment.data(t), secondMoment.data(t),
            params.data(t).length, step, (float) learningRate, BETA1, BETA2, EPSILON,
            decays ? (float) weightDecay : 0f);
      }
    }
    return new TrainResult(params, done == 0 ? Double.NaN : lossSum / done, done, (System.nanoTime() - begin) / 1e9);
  }

  /** The model's mean loss on this site's held-out text. */
  public HeldOutLoss evaluate(ModelState params) {
    return evaluate(params, data.heldOut());
  }

  /** The model's mean loss on {@code text}, over at most the configured number of positions. */
  public HeldOutLoss evaluate(ModelState params, int[] text) {
    CharModelConfig config = CharModel.configOf(params);
    CharModel model = model(config, EVAL_BATCH);
    int available = text.length - config.context();
    if (available < 1) {
      throw new IllegalArgumentException("held-out text of " + text.length
          + " characters is shorter than the model's context");
    }
    int count = Math.min(available, evalPositions);
    int[] positions = new int[EVAL_BATCH];
    double lossSum = 0;
    for (int done = 0; done < count; ) {
      int rows = Math.min(EVAL_BATCH, count - done);
      for (int r = 0; r < rows; r++) {
        // Evenly spaced over the whole held-out text, the same positions every time.
        positions[r] = config.context() + (int) ((long) (done + r) * available / count);
      }
      lossSum += model.forwardBackward(params, text, positions, rows, null);
      done += rows;
    }
    return new HeldOutLoss(lossSum / count, count);
  }

  private CharModel model(CharModelConfig config, int batch) {
    if (model == null || !model.config().equals(config) || model.batch() < batch) {
      model = new CharModel(config, backend, batch);
    }
    return model;
  }
}
