package eu.hanse.agent;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A malicious update, for testing the robust aggregators: the site trains honestly, then sends
 * something else, signed with its own valid key (an insider, which no signature check can stop).
 *
 * <ul>
 *   <li>{@code sign-flip}: the negated update, pulling the model back;
 *   <li>{@code scale:F}: the update times F (e.g. {@code scale:100}), dominating a mean;
 *   <li>{@code random}: standard Gaussian noise instead of the update.
 * </ul>
 */
public record Attack(Kind kind, double factor) {
  public enum Kind { NONE, SIGN_FLIP, SCALE, RANDOM }

  public static Attack none() {
    return new Attack(Kind.NONE, 1);
  }

  /** Reads {@code sign-flip}, {@code scale:F} or {@code random}. */
  public static Attack parse(String text) {
    String name = text.trim().toLowerCase(Locale.ROOT);
    if (name.equals("sign-flip")) {
      return new Attack(Kind.SIGN_FLIP, -1);
    }
    if (name.equals("random")) {
      return new Attack(Kind.RANDOM, 1);
    }
    if (name.startsWith("scale:")) {
      try {
        double factor = Double.parseDouble(name.substring("scale:".length()));
        if (Double.isFinite(factor)) {
          return new Attack(Kind.SCALE, factor);
        }
      } catch (NumberFormatException e) {
        // Reported below.
      }
    }
    throw new IllegalArgumentException("unknown attack '" + text + "': use sign-flip, scale:F or random");
  }

  /** Replaces the honest update in place with the malicious one; {@code seed} drives random. */
  public void apply(float[] delta, long seed) {
    switch (kind) {
      case NONE -> { }
      case SIGN_FLIP, SCALE -> {
        float f = (float) factor;
        for (int i = 0; i < delta.length; i++) {
          delta[i] *= f;
        }
      }
      case RANDOM -> {
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < delta.length; i++) {
          delta[i] = (float) random.nextGaussian();
        }
      }
    }
  }

  public String describe() {
    return switch (kind) {
      case NONE -> "none";
      case SIGN_FLIP -> "sign-flip";
      case SCALE -> "scale:" + factor;
      case RANDOM -> "random";
    };
  }
}
