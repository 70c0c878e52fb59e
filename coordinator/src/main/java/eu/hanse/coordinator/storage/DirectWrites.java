package eu.hanse.coordinator.storage;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A spool file opened a second time for direct I/O, so that an update's bytes go from the chunk to
 * the disk without passing through the page cache. An update is written once and read once, at
 * the commit, so caching it gains little; and filling fresh page-cache pages costs as much CPU as
 * the TLS that brought the bytes (on the 2-vCPU benchmark machine, writing 1 GiB through the cache
 * took 2.5 to 3.7 s of system time, directly 0.2 s).
 *
 * <p>Direct I/O wants whole blocks at block-aligned positions, from block-aligned memory: the bytes
 * are copied through an aligned buffer, a piece at a time. Writes that are not whole blocks (an
 * update's last chunk, the chunks of a codec whose size is not a multiple of the block) go through
 * the page cache on the writer's other channel. One thread at a time.
 */
final class DirectWrites implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DirectWrites.class);
  /** The most one copy through the aligned buffer carries. */
  private static final int PIECE = 1 << 20;
  private static volatile boolean unsupportedLogged;

  private final FileChannel channel;
  private final int block;
  private final ByteBuffer aligned;

  private DirectWrites(FileChannel channel, int block) {
    this.channel = channel;
    this.block = block;
    this.aligned = ByteBuffer.allocateDirect(PIECE + block).alignedSlice(block);
  }

  /** {@code file}, which exists, opened for direct writes; null if its file system does not do direct I/O. */
  static DirectWrites open(Path file) {
    try {
      int block = Math.toIntExact(Files.getFileStore(file).getBlockSize());
      if (block <= 0 || PIECE % block != 0) {
        return null;
      }
      return new DirectWrites(FileChannel.open(file, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT), block);
    } catch (IOException | UnsupportedOperationException | ArithmeticException e) {
      if (!unsupportedLogged) {
        unsupportedLogged = true;
        log.info("spool files in {} are written through the page cache: no direct I/O there ({})", file.getParent(), e);
      }
      return null;
    }
  }

  /** True if {@code data} at {@code position} is whole blocks, as direct I/O wants. */
  boolean takes(long position, ByteBuffer data) {
    return position % block == 0 && data.remaining() % block == 0;
  }

  /** Writes {@code data}, whole blocks, at {@code position}, a block boundary. */
  void write(long position, ByteBuffer data) throws IOException {
    long at = position;
    while (data.hasRemaining()) {
      int piece = Math.min(PIECE, data.remaining());
      aligned.clear().limit(piece);
      aligned.put(data.slice(data.position(), piece)).flip();
      data.position(data.position() + piece);
      while (aligned.hasRemaining()) {
        at += channel.write(aligned, at);
      }
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
