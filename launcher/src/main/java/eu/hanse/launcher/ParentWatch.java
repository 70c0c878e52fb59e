package eu.hanse.launcher;

/** Ends this process when the process that started it ends, so a killed demo leaves nothing behind. */
final class ParentWatch {
  private ParentWatch() {}

  static void start(Long parentPid) {
    if (parentPid == null) {
      return;
    }
    ProcessHandle.of(parentPid).ifPresentOrElse(
        parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(3)),
        () -> Runtime.getRuntime().halt(3));
  }
}
