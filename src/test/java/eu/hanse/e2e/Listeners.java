package eu.hanse.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The local addresses of the TCP sockets listening on a port, from /proc/net/tcp and tcp6. */
final class Listeners {
  private static final String LISTEN = "0A";

  private Listeners() {}

  /** Each listening socket's local address on {@code port}, e.g. "127.0.0.1", "0.0.0.0" or "::". */
  static List<String> addresses(int port) throws IOException {
    List<String> found = new ArrayList<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path file = Path.of(table);
      if (!Files.exists(file)) {
        continue;
      }
      for (String line : Files.readAllLines(file).subList(1, Files.readAllLines(file).size())) {
        String[] fields = line.strip().split("\\s+");
        String[] local = fields[1].split(":");
        if (fields[3].equals(LISTEN) && Integer.parseInt(local[1], 16) == port) {
          found.add(address(local[0]));
        }
      }
    }
    return found;
  }

  /** The kernel's hex form of an address (IPv4 little-endian, IPv6 as four little-endian words). */
  private static String address(String hex) throws IOException {
    byte[] bytes = new byte[hex.length() / 2];
    for (int word = 0; word < bytes.length / 4; word++) {
      for (int b = 0; b < 4; b++) {
        bytes[word * 4 + b] = (byte) Integer.parseInt(hex.substring(word * 8 + (3 - b) * 2, word * 8 + (3 - b) * 2 + 2), 16);
      }
    }
    return java.net.InetAddress.getByAddress(bytes).getHostAddress();
  }
}
