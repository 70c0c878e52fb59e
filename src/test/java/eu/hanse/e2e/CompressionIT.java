package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import eu.hanse.agent.trainer.CharModel;
import eu.hanse.agent.trainer.CharModelConfig;
import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.UpdateCodec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compressed updates pay: the same job with int4 updates uploads at most a sixth of the fp32 bytes
 * and ends within 3% of its held-out loss; bf16, int8 and top-k are measured alongside. Real
 * federations over mutual TLS on 127.0.0.1, with the sites' error feedback.
 */
class CompressionIT {
  private static final List<String> SITES = List.of("jupiter", "leonardo", "marenostrum");
  private static final CharModelConfig MODEL = new CharModelConfig(97, 6, 16, 64);

  @TempDir Path dir;

  @Test
  void int4UploadsASixthOfTheBytesForTheSameLoss() throws Exception {
    JobStatus fp32 = run("fp32");
    JobStatus int4 = run("int4");
    double fp32Loss = finalLoss(fp32);
    double int4Loss = finalLoss(int4);
    report(fp32, fp32, "fp32");
    for (String codec : List.of("bf16", "int8", "topk:0.1")) {
      report(fp32, run(codec), codec);
    }
    report(fp32, int4, "int4");
    assertTrue(int4.bytesUploaded() * 6 <= fp32.bytesUploaded(),
        "int4 sent " + int4.bytesUploaded() + " bytes, fp32 " + fp32.bytesUploaded());
    assertTrue(int4Loss <= 1.03 * fp32Loss, "int4 ended at " + int4Loss + ", fp32 at " + fp32Loss);
    assertEquals("int4", int4.codec());
  }

  private static void report(JobStatus fp32, JobStatus other, String codec) {
    System.out.printf(Locale.ROOT, "%-9s %9d bytes (%.3f of fp32), final held-out loss %.4f (%+.2f%%)%n", codec,
        other.bytesUploaded(), (double) other.bytesUploaded() / fp32.bytesUploaded(), finalLoss(other),
        100 * (finalLoss(other) / finalLoss(fp32) - 1));
  }

  private static double finalLoss(JobStatus status) {
    return status.heldOutLoss().get(status.heldOutLoss().size() - 1);
  }

  private JobStatus run(String codec) throws Exception {
    JobSpec spec = new JobSpec(new JobId("compress"), 10, 40, 3, 3, Duration.ofMinutes(2),
        new TrainerSettings(32, 0.01, 0.0), OuterOptimizerSpec.diloco(), 5, JobSpec.DEFAULT_CHUNK_BYTES,
        AggregatorSpec.mean(), PrivacySpec.none(), UpdateCodec.parse(codec));
    return TestFederation.runJob(dir.resolve(codec.replace(':', '-')), spec, CharModel.initialize(MODEL, 5), SITES,
        Map.of());
  }
}
