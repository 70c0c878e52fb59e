package eu.hanse.coordinator.job;

import java.util.Locale;

/**
 * The model a job trains: the built-in character model, whose last {@code context} characters'
 * embeddings of width {@code embed} feed a tanh layer of {@code hidden} units; or a synthetic model
 * of {@code parameters} elements with no architecture, whose sites send random updates, for
 * carrying a foundation model's checkpoints and updates through a federation that cannot train one.
 */
public record ModelShape(Kind kind, int context, int embed, int hidden, long parameters) {
  /** The built-in model's default shape: about 94 thousand parameters. */
  public static final ModelShape DEFAULT = new ModelShape(8, 32, 256);

  /** What kind of model. */
  public enum Kind {
    CHAR,
    SYNTHETIC;

    /** As a job file writes it. */
    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A character model of this shape. */
  public ModelShape(int context, int embed, int hidden) {
    this(Kind.CHAR, context, embed, hidden, 0);
  }

  /** A synthetic model of {@code parameters} elements. */
  public static ModelShape synthetic(long parameters) {
    return new ModelShape(Kind.SYNTHETIC, 0, 0, 0, parameters);
  }
}
