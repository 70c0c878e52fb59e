package eu.hanse.coordinator.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import eu.hanse.coordinator.job.JobId;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpdateSpoolTest {
  private static final JobId JOB = new JobId("job");

  @Test
  void aFileWrittenOutOfOrderIsNotTrustedForResumeUntilCutBackToItsPrefix(@TempDir Path dataDir) {
    UpdateSpool spool = new UpdateSpool(dataDir);
    UpdateSpool.Writer writer = spool.open(JOB, 1, "alpha", "00");
    writer.write(0, ByteBuffer.wrap(new byte[100]));
    writer.awaitWrites();
    assertEquals(100, spool.heldBytes(JOB, 1, "alpha", "00"), "written in order: all of it is held");
    writer.expectHoles();
    writer.write(300, ByteBuffer.wrap(new byte[100]));
    writer.awaitWrites();
    // A coordinator stopped now leaves bytes 100 to 300 unwritten: a resume must start afresh.
    assertEquals(0, spool.heldBytes(JOB, 1, "alpha", "00"));
    writer.suspend(100);
    assertEquals(100, spool.heldBytes(JOB, 1, "alpha", "00"), "cut back to the prefix, it may resume again");
  }

  @Test
  void resumingDropsTheHolesAndWhatFollowsThem(@TempDir Path dataDir) {
    UpdateSpool spool = new UpdateSpool(dataDir);
    UpdateSpool.Writer writer = spool.open(JOB, 1, "alpha", "00");
    writer.expectHoles();
    writer.write(200, ByteBuffer.wrap(new byte[100]));
    writer.awaitWrites();
    UpdateSpool.Writer resumed = spool.resume(JOB, 1, "alpha", "00", 0);
    assertEquals(0, spool.heldBytes(JOB, 1, "alpha", "00"));
    resumed.write(0, ByteBuffer.wrap(new byte[50]));
    resumed.awaitWrites();
    assertEquals(50, spool.heldBytes(JOB, 1, "alpha", "00"));
    writer.close();
    resumed.close();
  }

  @Test
  void wholeBlocksAndTheRestLandWhereTheyBelongByTheTimeTheFileIsComplete(@TempDir Path dataDir) throws Exception {
    UpdateSpool spool = new UpdateSpool(dataDir);
    UpdateSpool.Writer writer = spool.open(JOB, 1, "alpha", "00");
    int chunk = 1 << 20;
    byte[] expected = new byte[3 * chunk + 1000];
    new java.util.Random(5).nextBytes(expected);
    // Out of order, as a striped upload writes: chunk 2, the short last chunk, then chunks 0 and 1.
    writer.expectHoles();
    writer.write(2L * chunk, ByteBuffer.wrap(expected.clone(), 2 * chunk, chunk));
    writer.write(3L * chunk, ByteBuffer.wrap(expected.clone(), 3 * chunk, 1000));
    writer.write(0, ByteBuffer.wrap(expected.clone(), 0, chunk));
    writer.write(chunk, ByteBuffer.wrap(expected.clone(), chunk, chunk));
    Path complete = writer.complete();
    org.junit.jupiter.api.Assertions.assertArrayEquals(expected, java.nio.file.Files.readAllBytes(complete));
  }

  @Test
  void aFailedWriteIsReportedAndAnUploadThatThenBreaksOffLeavesNothingToResume(@TempDir Path dataDir) {
    UpdateSpool spool = new UpdateSpool(dataDir);
    UpdateSpool.Writer writer = spool.open(JOB, 1, "alpha", "00");
    writer.write(0, ByteBuffer.wrap(new byte[100]));
    writer.write(-1, ByteBuffer.wrap(new byte[100]));
    writer.awaitWrites();
    org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class,
        () -> writer.write(100, ByteBuffer.wrap(new byte[100])), "the failure is reported by the next write");
    writer.suspend(200);
    assertEquals(0, spool.heldBytes(JOB, 1, "alpha", "00"), "nothing kept: the site starts afresh");
    org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(spool.partial(JOB, 1, "alpha", "00")));
  }
}
