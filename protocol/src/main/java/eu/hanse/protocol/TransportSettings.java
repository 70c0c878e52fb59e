package eu.hanse.protocol;

/** How the coordinator and the agents set up their HTTP/2 links, on both ends alike. */
public final class TransportSettings {
  /**
   * HTTP/2's per-stream flow-control window: several 1 MiB chunks in flight, so that a chunk never
   * waits for the window update of the one before. It bounds what a receiver buffers per stream.
   */
  public static final int FLOW_CONTROL_WINDOW = 8 << 20;

  /**
   * How much a sender lets the transport hold before it waits (gRPC's on-ready threshold): a few
   * chunks, so the link never idles between two, and memory stays bounded however slow the link.
   */
  public static final int IN_FLIGHT_BYTES = 4 << 20;

  private TransportSettings() {}
}
