package org.apache.kafka.common.test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.server.ServerSocketFactory;

/**
 * Hanse's stand-in for the Kafka test kit's class of this name, which it replaces on the test
 * class path: the kit asks it for every listener's port before the broker starts, and the library's
 * version binds them on the wildcard address. This one binds every socket on 127.0.0.1, as all that
 * Hanse's tests start must. The API is the one KafkaClusterTestKit 4.3 calls.
 */
public class PreboundSocketFactoryManager implements AutoCloseable {
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  /** The port last bound for each listener name, by any manager: how a test learns a broker's port before it starts. */
  private static final Map<String, Integer> LAST_PORTS = new java.util.concurrent.ConcurrentHashMap<>();

  private final Map<Integer, ServerSocketFactory> factories = new HashMap<>();
  private final Map<Integer, Map<String, ServerSocketChannel>> sockets = new HashMap<>();
  private final Map<Integer, Set<String>> used = new HashMap<>();
  private boolean closed;

  /** The socket bound for a node's listener, now counted as the broker's own; null if there is none. */
  public synchronized ServerSocketChannel getSocketForListenerAndMarkAsUsed(int nodeId, String listener) {
    ServerSocketChannel socket = sockets.getOrDefault(nodeId, Map.of()).get(listener);
    if (socket != null) {
      used.computeIfAbsent(nodeId, id -> new HashSet<>()).add(listener);
    }
    return socket;
  }

  /** The factory a node's servers open their listening sockets with. */
  public synchronized ServerSocketFactory getOrCreateSocketFactory(int nodeId) {
    return factories.computeIfAbsent(nodeId, id -> (listener, address, backlog, receiveBuffer) -> {
      ServerSocketChannel bound = getSocketForListenerAndMarkAsUsed(id, listener);
      if (bound != null && bound.isOpen()) {
        return bound;
      }
      // A restarted server binds its listener's port again, still on the loopback address.
      int port = bound != null ? bound.socket().getLocalPort() : address.getPort();
      return ServerSocketFactory.INSTANCE.openServerSocket(listener, new InetSocketAddress(LOOPBACK, port), backlog,
          receiveBuffer);
    });
  }

  /** The port of a node's listener, bound on 127.0.0.1 now if it is not yet. */
  public synchronized int getOrCreatePortForListener(int nodeId, String listener) throws IOException {
    Map<String, ServerSocketChannel> forNode = sockets.computeIfAbsent(nodeId, id -> new HashMap<>());
    ServerSocketChannel socket = forNode.get(listener);
    if (socket == null) {
      if (closed) {
        throw new IllegalStateException("cannot bind a new socket: the manager is closed");
      }
      socket = ServerSocketFactory.INSTANCE.openServerSocket(listener, new InetSocketAddress(LOOPBACK, 0), -1, -1);
      forNode.put(listener, socket);
      LAST_PORTS.put(listener, ((InetSocketAddress) socket.getLocalAddress()).getPort());
    }
    return ((InetSocketAddress) socket.getLocalAddress()).getPort();
  }

  /** The port last bound for a listener (e.g. "EXTERNAL"), on 127.0.0.1; the broker takes it when it starts. */
  public static int lastPort(String listener) {
    Integer port = LAST_PORTS.get(listener);
    if (port == null) {
      throw new IllegalStateException("no port bound for listener " + listener);
    }
    return port;
  }

  /** Closes the sockets no server took; the servers close their own. */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    for (Map.Entry<Integer, Map<String, ServerSocketChannel>> node : sockets.entrySet()) {
      Set<String> taken = used.getOrDefault(node.getKey(), Set.of());
      for (Map.Entry<String, ServerSocketChannel> listener : node.getValue().entrySet()) {
        if (!taken.contains(listener.getKey())) {
          listener.getValue().close();
        }
      }
    }
  }
}
