package eu.hanse.agent.trainer;

import eu.hanse.model.FlatReader;
import eu.hanse.model.SafetensorsFile;
import eu.hanse.model.SyntheticModel;
import java.nio.file.Path;

/**
 * Stands in for training a synthetic model ({@link SyntheticModel}): its update is random, drawn
 * from the round's seed and made a chunk at a time as it is sent, and its evaluation reads the
 * checkpoint through once. A site of a foundation model's size is exercised end to end this way —
 * download, encode, sign, upload, commit — without the GPUs to train one.
 */
public final class SyntheticTrainer {
  private static final int BLOCK = 1 << 18;

  private SyntheticTrainer() {}

  /** True if the checkpoint is a synthetic model's. */
  public static boolean handles(Path checkpoint) {
    try (SafetensorsFile file = SafetensorsFile.open(checkpoint)) {
      return SyntheticModel.isSynthetic(file.metadata());
    }
  }

  /** The site's update for a round: as many random values as the checkpoint has parameters. */
  public static FlatReader update(Path checkpoint, long seed) {
    try (SafetensorsFile file = SafetensorsFile.open(checkpoint)) {
      return SyntheticModel.update(file.length(), seed);
    }
  }

  /** The mean square of the checkpoint's parameters, read a block at a time: a loss for the record. */
  public static HeldOutLoss evaluate(Path checkpoint) {
    try (SafetensorsFile file = SafetensorsFile.open(checkpoint)) {
      float[] block = new float[(int) Math.min(BLOCK, Math.max(1, file.length()))];
      double squares = 0;
      for (long offset = 0; offset < file.length(); offset += block.length) {
        int count = (int) Math.min(block.length, file.length() - offset);
        file.read(offset, block, count);
        for (int i = 0; i < count; i++) {
          squares += (double) block[i] * block[i];
        }
      }
      return new HeldOutLoss(squares / Math.max(1, file.length()), file.length());
    }
  }
}
