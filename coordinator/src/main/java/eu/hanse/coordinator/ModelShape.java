package eu.hanse.coordinator;

/**
 * The shape of the built-in character model a job trains: the last {@code context} characters'
 * embeddings of width {@code embed} feed a tanh layer of {@code hidden} units.
 */
public record ModelShape(int context, int embed, int hidden) {
  /** The built-in model's default shape: about 94 thousand parameters. */
  public static final ModelShape DEFAULT = new ModelShape(8, 32, 256);
}
