package eu.hanse.coordinator.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SerialWorkerTest {
  @Test
  void tasksRunOneAtATimeInTheOrderGiven() {
    SerialWorker worker = new SerialWorker("test-worker", 3);
    List<Integer> ran = Collections.synchronizedList(new ArrayList<>());
    List<Integer> expected = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      int task = i;
      expected.add(task);
      assertTrue(worker.submit(() -> ran.add(task)));
    }
    worker.awaitIdle();
    assertEquals(expected, ran);
  }

  @Test
  void aCallerWaitsWhileTheWorkerIsFullAndNothingRunsOnceItIsShutDown() throws Exception {
    SerialWorker worker = new SerialWorker("test-worker", 2);
    CountDownLatch release = new CountDownLatch(1);
    worker.submit(() -> await(release));
    worker.submit(() -> { });
    CompletableFuture<Boolean> third = CompletableFuture.supplyAsync(() -> worker.submit(() -> { }));
    Thread.sleep(200);
    assertFalse(third.isDone(), "two tasks already wait or run: the third waits for room");
    release.countDown();
    assertTrue(third.get(10, TimeUnit.SECONDS));
    worker.awaitIdle();
    worker.shutdown();
    assertFalse(worker.submit(() -> { throw new AssertionError("ran after shutdown"); }));
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
