package eu.hanse.agent.trainer;

import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ModelState;
import eu.hanse.model.TensorSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Forward and backward passes of the built-in character model over a {@link TensorBackend}.
 *
 * <p>The parameters live in a {@link ModelState} with tensors {@code embedding [vocab, embed]},
 * {@code hidden.weight [context·embed, hidden]}, {@code hidden.bias [hidden]},
 * {@code output.weight [hidden, vocab]} and {@code output.bias [vocab]}, in that order; the model's
 * shape travels in the checkpoint, so an agent rebuilds it from whatever checkpoint it is sent.
 * Activation buffers are sized for one batch size and reused. Not thread-safe.
 */
public final class CharModel {
  static final String EMBEDDING = "embedding";
  static final String HIDDEN_WEIGHT = "hidden.weight";
  static final String HIDDEN_BIAS = "hidden.bias";
  static final String OUTPUT_WEIGHT = "output.weight";
  static final String OUTPUT_BIAS = "output.bias";
  static final String MODEL_NAME = "hanse-char-mlp";

  private final CharModelConfig config;
  private final TensorBackend backend;
  private final int batch;
  // Activations and their gradients for one batch, reused across steps.
  private final int[] contextTokens;
  private final float[] inputs;
  private final float[] hidden;
  private final float[] logits;
  private final float[] hiddenGrad;
  private final float[] inputGrad;

  public CharModel(CharModelConfig config, TensorBackend backend, int batch) {
    if (batch < 1) {
      throw new IllegalArgumentException("batch must be at least 1, was " + batch);
    }
    this.config = config;
    this.backend = backend;
    this.batch = batch;
    int width = config.context() * config.embed();
    this.contextTokens = new int[batch * config.context()];
    this.inputs = new float[batch * width];
    this.hidden = new float[batch * config.hidden()];
    this.logits = new float[batch * config.vocab()];
    this.hiddenGrad = new float[batch * config.hidden()];
    this.inputGrad = new float[batch * width];
  }

  public CharModelConfig config() {
    return config;
  }

  public int batch() {
    return batch;
  }

  /** Fresh parameters, the same for the same seed: small Gaussian weights, zero biases. */
  public static ModelState initialize(CharModelConfig config, long seed) {
    Random random = new Random(seed);
    List<TensorSpec> specs = specs(config);
    List<float[]> data = new ArrayList<>();
    for (TensorSpec spec : specs) {
      float[] values = new float[spec.elementCount()];
      double std = switch (spec.name()) {
        case EMBEDDING -> 0.5;
        case HIDDEN_WEIGHT -> 1.0 / Math.sqrt(config.context() * config.embed());
        case OUTPUT_WEIGHT -> 1.0 / Math.sqrt(config.hidden());
        default -> 0.0;
      };
      if (std > 0) {
        for (int i = 0; i < values.length; i++) {
          values[i] = (float) (random.nextGaussian() * std);
        }
      }
      data.add(values);
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    metadata.put("hanse.model", MODEL_NAME);
    metadata.put("hanse.model.context", Integer.toString(config.context()));
    return new ModelState(specs, data, metadata);
  }

  static List<TensorSpec> specs(CharModelConfig c) {
    return List.of(
        TensorSpec.of(EMBEDDING, c.vocab(), c.embed()),
        TensorSpec.of(HIDDEN_WEIGHT, c.context() * c.embed(), c.hidden()),
        TensorSpec.of(HIDDEN_BIAS, c.hidden()),
        TensorSpec.of(OUTPUT_WEIGHT, c.hidden(), c.vocab()),
        TensorSpec.of(OUTPUT_BIAS, c.vocab()));
  }

  /** Reads the model's shape from a checkpoint's tensors; IllegalArgumentException if it is not this model. */
  public static CharModelConfig configOf(ModelState state) {
    List<TensorSpec> specs = state.specs();
    List<String> names = specs.stream().map(TensorSpec::name).toList();
    if (!names.equals(List.of(EMBEDDING, HIDDEN_WEIGHT, HIDDEN_BIAS, OUTPUT_WEIGHT, OUTPUT_BIAS))) {
      throw new IllegalArgumentException("checkpoint is not a " + MODEL_NAME + " model: its tensors are " + names);
    }
    for (TensorSpec matrix : specs.subList(0, 2)) {
      if (matrix.shape().size() != 2) {
        throw new IllegalArgumentException(matrix.name() + " has shape " + matrix.shape() + ", not a matrix");
      }
    }
    int vocab = specs.get(0).shape().get(0);
    int embed = specs.get(0).shape().get(1);
    int width = specs.get(1).shape().get(0);
    int hiddenWidth = specs.get(1).shape().get(1);
    if (width % embed != 0) {
      throw new IllegalArgumentException("hidden.weight has " + width + " rows, not a multiple of the embedding width " + embed);
    }
    CharModelConfig config = new CharModelConfig(vocab, width / embed, embed, hiddenWidth);
    if (!specs(config).equals(specs)) {
      throw new IllegalArgumentException("checkpoint tensor shapes " + specs + " do not fit one " + MODEL_NAME + " model");
    }
    return config;
  }

  /**
   * Runs the model on {@code rows} positions of {@code text} (each predicting {@code text[position]}
   * from the {@code context} characters before it) and returns the summed cross-entropy. With
   * {@code grads} non-null it also adds the gradient of the mean loss over the rows into it.
   */
  public double forwardBackward(ModelState params, int[] text, int[] positions, int rows, ModelState grads) {
    if (rows < 1 || rows > batch) {
      throw new IllegalArgumentException("rows must be 1-" + batch + ", was " + rows);
    }
    int k = config.context();
    int d = config.embed();
    int h = config.hidden();
    int v = config.vocab();
    int width = k * d;
    int[] targets = new int[rows];
    for (int r = 0; r < rows; r++) {
      int position = positions[r];
      targets[r] = text[position];
      System.arraycopy(text, position - k, contextTokens, r * k, k);
    }
    float[] embedding = params.data(0);
    float[] w1 = params.data(1);
    float[] b1 = params.data(2);
    float[] w2 = params.data(3);
    float[] b2 = params.data(4);

    backend.gatherRows(embedding, d, contextTokens, rows * k, inputs);
    backend.matmul(inputs, false, w1, false, hidden, rows, h, width, false);
    backend.addRowBias(hidden, b1, rows, h);
    backend.tanhForward(hidden, hidden, rows * h);
    backend.matmul(hidden, false, w2, false, logits, rows, v, h, false);
    backend.addRowBias(logits, b2, rows, v);
    if (grads == null) {
      return backend.softmaxCrossEntropy(logits, targets, rows, v, null, 0f);
    }
    double loss = backend.softmaxCrossEntropy(logits, targets, rows, v, logits, 1f / rows);

    float[] logitsGrad = logits;
    backend.matmul(hidden, true, logitsGrad, false, grads.data(3), h, v, rows, true);
    backend.sumRows(logitsGrad, rows, v, grads.data(4), true);
    backend.matmul(logitsGrad, false, w2, true, hiddenGrad, rows, h, v, false);
    backend.tanhBackward(hidden, hiddenGrad, hiddenGrad, rows * h);
    backend.matmul(inputs, true, hiddenGrad, false, grads.data(1), width, h, rows, true);
    backend.sumRows(hiddenGrad, rows, h, grads.data(2), true);
    backend.matmul(hiddenGrad, false, w1, true, inputGrad, rows, width, h, false);
    backend.scatterAddRows(inputGrad, d, contextTokens, rows * k, grads.data(0));
    return loss;
  }
}
