package eu.hanse.agent.data;

/**
 * A site's text as tokens, split into a training part and a held-out part that training never sees.
 *
 * @param source where the text came from, for logs ("synthetic language of jupiter", a folder)
 */
public record SiteData(String source, int[] train, int[] heldOut) {
  /** Share of the text kept for held-out evaluation: the last tenth. */
  public static final double HELD_OUT_SHARE = 0.1;

  public SiteData {
    if (train.length < 2 || heldOut.length < 2) {
      throw new IllegalArgumentException(source + ": " + (train.length + heldOut.length)
          + " characters is too little text to train on");
    }
  }

  /** Splits tokens into training text and the held-out last tenth. */
  public static SiteData split(String source, int[] tokens) {
    int heldOut = (int) Math.max(2, Math.round(tokens.length * HELD_OUT_SHARE));
    int[] train = java.util.Arrays.copyOfRange(tokens, 0, Math.max(0, tokens.length - heldOut));
    int[] held = java.util.Arrays.copyOfRange(tokens, Math.max(0, tokens.length - heldOut), tokens.length);
    return new SiteData(source, train, held);
  }
}
