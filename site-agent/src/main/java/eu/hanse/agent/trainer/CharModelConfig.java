package eu.hanse.agent.trainer;

import eu.hanse.agent.data.Vocabulary;

/**
 * The shape of the built-in character-level language model: the embeddings of the last
 * {@code context} characters, concatenated, feed one tanh hidden layer, then a softmax over the
 * vocabulary.
 *
 * <p>Parameters: vocab·embed + context·embed·hidden + hidden + hidden·vocab + vocab. The default
 * (context 8, embed 32, hidden 256) has about 94 thousand; context 24, embed 512, hidden 8192 has
 * about 102 million.
 */
public record CharModelConfig(int vocab, int context, int embed, int hidden) {
  public static final CharModelConfig DEFAULT = new CharModelConfig(Vocabulary.SIZE, 8, 32, 256);

  public CharModelConfig {
    require(vocab >= 2, "vocabulary size must be at least 2, was " + vocab);
    require(context >= 1 && context <= 256, "context must be 1-256 characters, was " + context);
    require(embed >= 1 && embed <= 4096, "embedding width must be 1-4096, was " + embed);
    require(hidden >= 1 && hidden <= 65536, "hidden width must be 1-65536, was " + hidden);
    require((long) context * embed * hidden < Integer.MAX_VALUE - 8,
        "context x embed x hidden = " + (long) context * embed * hidden + " exceeds one tensor's 2^31 elements");
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }

  public long parameterCount() {
    return (long) vocab * embed + (long) context * embed * hidden + hidden + (long) hidden * vocab + vocab;
  }
}
