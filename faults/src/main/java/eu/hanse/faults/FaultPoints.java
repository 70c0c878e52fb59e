package eu.hanse.faults;

/**
 * Named instants in a coordinator's or an agent's work where a fault test stops the process: with
 * the environment variable {@code HANSE_TEST_PAUSE_AT=POINT@ROUND} set, the process prints
 * {@code hanse: paused at POINT@ROUND} on standard output when it gets there and waits, so that the
 * test can kill it with SIGKILL at exactly that instant. Unset, as it always is outside tests, this
 * does nothing.
 *
 * <p>The coordinator's points: {@code upload} (a chunk of an update spooled, the upload not
 * complete), {@code aggregate} (the round closed, its commit begun), {@code checkpoint} (the new
 * checkpoint's file written, its round not yet recorded). The agent's: {@code send} (the first
 * chunk of its update sent, the rest not).
 */
public final class FaultPoints {
  private static final String PAUSE_AT = System.getenv("HANSE_TEST_PAUSE_AT");

  private FaultPoints() {}

  public static void reach(String point, long round) {
    if (PAUSE_AT == null || !PAUSE_AT.equals(point + "@" + round)) {
      return;
    }
    System.out.println("hanse: paused at " + PAUSE_AT);
    System.out.flush();
    while (true) {
      try {
        Thread.sleep(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        // Stay: only the test's kill ends this.
      }
    }
  }
}
