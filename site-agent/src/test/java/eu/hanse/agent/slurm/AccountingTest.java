package eu.hanse.agent.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AccountingTest {
  @Test
  void aCompletedGpuJobCountsItsGpusTimesItsRun() {
    Accounting job = Accounting.parse("COMPLETED|0:0|2026-11-25T15:54:36|2026-11-25T15:54:48|2026-11-25T15:55:51|63|"
        + "billing=8,cpu=8,gres/gpu=4,node=1|1\n").orElseThrow();
    assertEquals("COMPLETED", job.state());
    assertTrue(job.ended());
    assertEquals(12.0, job.queueSeconds());
    assertEquals(63, job.elapsedSeconds());
    assertEquals(4 * 63.0, job.deviceSeconds());
  }

  @Test
  void gpusAreCountedFromTypedCountsWhenThereIsNoPlainOne() {
    assertEquals(8, Accounting.gpus("cpu=64,gres/gpu:a100=4,gres/gpu:h100=4,node=2"));
    assertEquals(4, Accounting.gpus("cpu=64,gres/gpu=4,gres/gpu:a100=4,node=1"));
    assertEquals(0, Accounting.gpus("billing=1,cpu=1,node=1"));
    assertEquals(0, Accounting.gpus(""));
  }

  @Test
  void aJobWithoutGpusCountsItsNodes() {
    Accounting job = Accounting.parse("FAILED|1:0|2026-11-25T10:00:00|2026-11-25T10:00:00|2026-11-25T10:01:40|100|"
        + "cpu=96,node=2|2").orElseThrow();
    assertEquals(200.0, job.deviceSeconds());
  }

  @Test
  void aJobCancelledWhileQueuedQueuedUntilItsEndAndHeldNothing() {
    Accounting job = Accounting.parse("CANCELLED by 0|0:0|2026-11-25T10:00:00|None|2026-11-25T10:00:30|0||1")
        .orElseThrow();
    assertEquals("CANCELLED", job.state());
    assertEquals(30.0, job.queueSeconds());
    assertEquals(0.0, job.deviceSeconds());
  }

  @Test
  void aRunningJobHasNotEndedAndNoOutputIsNoLine() {
    assertFalse(Accounting.parse("RUNNING|0:0|2026-11-25T10:00:00|2026-11-25T10:00:05|Unknown|12|gres/gpu=1|1")
        .orElseThrow().ended());
    assertTrue(Accounting.parse("").isEmpty());
    assertTrue(Accounting.parse("garbage without fields\n").isEmpty());
  }
}
