package eu.hanse.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on 127.0.0.1 between agents and the coordinator that a test cuts and restores: a
 * cut closes every connection and refuses new ones until {@link #restore()}. Each way it carries at
 * most a given rate per connection, as a slow link between centres would, slower than the ends
 * read, so that what a test sees arrive is about all that is on its way, and a cut lands in the
 * middle of an upload or a checkpoint download. The bytes are the TLS stream, untouched.
 */
final class FaultyLink implements AutoCloseable {
  private final ServerSocket server;
  private final int target;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private volatile boolean down;
  private volatile int cuts;
  private final int bytesPerSecond;

  FaultyLink(int targetPort, int bytesPerSecond) throws IOException {
    this.target = targetPort;
    this.bytesPerSecond = bytesPerSecond;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofPlatform().daemon().name("faulty-link").start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  /** Cuts every connection now, and refuses new ones until {@link #restore()}. */
  void cutNow() {
    cut();
  }

  boolean isDown() {
    return down;
  }

  int cuts() {
    return cuts;
  }

  /** Takes connections again. */
  void restore() {
    down = false;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        if (down) {
          client.close();
          continue;
        }
        Socket coordinator = new Socket();
        coordinator.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), target));
        open.add(client);
        open.add(coordinator);
        Thread.ofVirtual().start(() -> pump(client, coordinator));
        Thread.ofVirtual().start(() -> pump(coordinator, client));
      } catch (IOException e) {
        // Closed, or the coordinator refused: the agent retries.
      }
    }
  }


  private void pump(Socket from, Socket to) {
    byte[] buffer = new byte[4 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        out.write(buffer, 0, n);
        Thread.sleep(Math.max(1, 1000L * n / bytesPerSecond));
      }
    } catch (IOException | InterruptedException e) {
      // The link is cut, or one side closed.
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private synchronized void cut() {
    if (down) {
      return;
    }
    down = true;
    cuts++;
    open.forEach(FaultyLink::closeQuietly);
    open.clear();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // Already closed.
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    open.forEach(FaultyLink::closeQuietly);
  }
}
