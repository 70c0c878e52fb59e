package eu.hanse.launcher;

import eu.hanse.security.PlainTls;
import eu.hanse.security.TlsFiles;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * The transport benchmark's baseline: the same number of bytes through one plain TLS 1.3 socket
 * on 127.0.0.1, with the coordinator's and a site's certificates and mutual authentication, read
 * and dropped by the other end; no framing, hashing or checks. Timed from the first byte written
 * (after the handshake) to the last byte read.
 */
final class PlainTlsBaseline {
  private static final int BUFFER = 1 << 20;

  private PlainTlsBaseline() {}

  /** MB/s (10^6 bytes a second) of {@code bytes} from {@code client} to {@code server}. */
  static double megabytesPerSecond(long bytes, TlsFiles server, TlsFiles client) throws Exception {
    try (SSLServerSocket listening = (SSLServerSocket) PlainTls.context(server).getServerSocketFactory()
        .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listening.setNeedClientAuth(true);
      CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> receive(listening, bytes));
      try (SSLSocket socket = (SSLSocket) PlainTls.context(client).getSocketFactory()
          .createSocket(InetAddress.getLoopbackAddress(), listening.getLocalPort())) {
        socket.startHandshake();
        byte[] buffer = new byte[BUFFER];
        new java.util.Random(1).nextBytes(buffer);
        OutputStream out = socket.getOutputStream();
        long start = System.nanoTime();
        for (long sent = 0; sent < bytes; sent += BUFFER) {
          out.write(buffer, 0, (int) Math.min(BUFFER, bytes - sent));
        }
        out.flush();
        long end = received.get(30, TimeUnit.MINUTES);
        return bytes / 1e6 / ((end - start) / 1e9);
      }
    }
  }

  /** Reads {@code bytes} from the first connection; returns when the last arrived. */
  private static long receive(SSLServerSocket listening, long bytes) {
    try (SSLSocket socket = (SSLSocket) listening.accept()) {
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[BUFFER];
      long read = 0;
      while (read < bytes) {
        int n = in.read(buffer);
        if (n < 0) {
          throw new IllegalStateException("the plain TLS socket closed after " + read + " of " + bytes + " bytes");
        }
        read += n;
      }
      return System.nanoTime();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
