package eu.hanse.launcher;

/** Whether standard output is a terminal a person watches, where redrawing lines in place makes sense. */
final class Terminal {
  private Terminal() {}

  static boolean isInteractive() {
    java.io.Console console = System.console();
    if (console == null) {
      return false;
    }
    try {
      // From JDK 22 a console exists even when output is redirected; isTerminal() says which.
      return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
    } catch (ReflectiveOperationException e) {
      return true; // JDK 21: a console exists only on a terminal.
    }
  }
}
