package eu.hanse.protocol;

/** How the coordinator and the agents set up their HTTP/2 links, on both ends alike. */
public final class TransportSettings {
  /**
   * HTTP/2's per-stream flow-control window: several 1 MiB chunks in flight, so that a chunk never
   * waits for the window update of the one before. It bounds what a receiver buffers per stream.
   */
  public static final int FLOW_CONTROL_WINDOW = 8 << 20;

  private TransportSettings() {}
}
