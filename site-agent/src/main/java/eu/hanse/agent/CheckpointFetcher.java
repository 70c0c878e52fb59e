package eu.hanse.agent;

import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.protocol.v1.CheckpointChunk;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.FetchCheckpointRequest;
import eu.hanse.security.CheckpointClaims;
import eu.hanse.security.Digests;
import eu.hanse.security.Signatures;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.PublicKey;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downloads checkpoints into {@code <data-dir>/checkpoints}, in chunks, resuming a broken download
 * from the bytes already on disk, and keeps a file only if its SHA-256 is the checkpoint's id. A
 * large checkpoint comes as several ranges over several connections at once, each range resuming
 * on its own if its stream breaks. Remembers the last checkpoint it read, since a round's
 * evaluation and training use the same one.
 */
final class CheckpointFetcher implements SiteRounds.Checkpoints {
  private static final Logger log = LoggerFactory.getLogger(CheckpointFetcher.class);
  private static final int ATTEMPTS = 4;

  /** A checkpoint is fetched as several ranges only if each range would be at least this large. */
  static final long MIN_RANGE_BYTES = 64L << 20;

  private final FederationGrpc.FederationBlockingStub stub;
  /** One stub per connection; the first is {@code stub}. */
  private final java.util.List<FederationGrpc.FederationBlockingStub> connections;
  private final Path directory;
  private final PublicKey consortiumKey;
  private final Progress progress;
  private String cachedSha;
  private ModelState cached;

  /**
   * A fetcher that fetches over the first of {@code connections}, and large checkpoints over every
   * one of them at once; none, for checkpoints already on disk.
   */
  CheckpointFetcher(java.util.List<FederationGrpc.FederationBlockingStub> connections, Path dataDir,
      PublicKey consortiumKey) {
    this(connections, dataDir, consortiumKey, new Progress());
  }

  /** As above, telling {@code progress} of each download's bytes. */
  CheckpointFetcher(java.util.List<FederationGrpc.FederationBlockingStub> connections, Path dataDir,
      PublicKey consortiumKey, Progress progress) {
    this.progress = progress;
    this.connections = java.util.List.copyOf(connections);
    this.stub = connections.isEmpty() ? null : connections.get(0);
    this.directory = dataDir.resolve("checkpoints");
    this.consortiumKey = consortiumKey;
  }

  /**
   * The checkpoint's parameters, downloaded if this site does not have them yet. Refuses a
   * checkpoint whose claims are not signed by the consortium, before reading a byte of it.
   */
  @Override
  public ModelState fetch(CheckpointAddress ref) {
    if (ref.sha256().equals(cachedSha)) {
      requireSigned(ref);
      return cached;
    }
    ModelState state = Safetensors.read(fetchFile(ref));
    cachedSha = ref.sha256();
    cached = state;
    return state;
  }

  /**
   * The checkpoint's file, downloaded if this site does not have it yet, for reading a block at a
   * time. Refuses a checkpoint whose claims are not signed by the consortium, before reading a byte.
   */
  @Override
  public Path fetchFile(CheckpointAddress ref) {
    requireSigned(ref);
    Path file = directory.resolve(ref.sha256() + ".safetensors");
    try {
      Files.createDirectories(directory);
      if (!Files.isRegularFile(file)) {
        download(ref, file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot store checkpoint " + ref.sha256() + ": " + e.getMessage(), e);
    }
    return file;
  }

  private void requireSigned(CheckpointAddress ref) {
    CheckpointClaims claims = new CheckpointClaims(ref.job(), ref.round(), ref.sha256(),
        ref.parentSha256(), ref.updateIds());
    if (!Signatures.verify(consortiumKey, claims.canonicalBytes(), ref.signature())) {
      throw new IllegalStateException("checkpoint " + ref.sha256() + " of round " + ref.round()
          + " is not signed by the consortium's checkpoint key: refusing to train on it");
    }
  }

  private void download(CheckpointAddress ref, Path file) throws IOException {
    Path partial = file.resolveSibling(file.getFileName() + ".part");
    Path ranges = file.resolveSibling(file.getFileName() + ".ranges");
    if (Files.exists(ranges)) {
      // A download in ranges broke off with the process: its part file has holes. Start afresh.
      Files.deleteIfExists(partial);
      Files.delete(ranges);
    }
    progress.start("download", ref.sizeBytes());
    int parts = (int) Math.min(connections.size(), ref.sizeBytes() / MIN_RANGE_BYTES);
    if (parts > 1 && !Files.exists(partial)) {
      downloadInRanges(ref, partial, ranges, parts);
    } else {
      downloadWhole(ref, partial);
    }
    String actual = Digests.sha256Hex(partial);
    if (!actual.equals(ref.sha256())) {
      Files.delete(partial);
      throw new IllegalStateException("downloaded checkpoint hashes to " + actual + ", not its id " + ref.sha256());
    }
    Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    Files.deleteIfExists(ranges);
  }

  /** Over one connection, resuming from the bytes already in the part file. */
  private void downloadWhole(CheckpointAddress ref, Path partial) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        downloadFrom(ref, partial);
        break;
      } catch (StatusRuntimeException e) {
        if (attempt == ATTEMPTS) {
          throw e;
        }
        log.warn("checkpoint download broke off after {} bytes ({}); resuming", Files.size(partial), e.getStatus());
      }
    }
  }

  /**
   * {@code parts} ranges at once, one per connection, each written at its place in the part file;
   * a range whose stream breaks goes on from where it stopped. A marker file says the part file
   * has holes until every range is in.
   */
  private void downloadInRanges(CheckpointAddress ref, Path partial, Path marker, int parts) throws IOException {
    Files.writeString(marker, parts + " ranges\n");
    long size = ref.sizeBytes();
    long per = (size + parts - 1) / parts;
    log.info("fetching checkpoint {} ({} bytes) as {} ranges over {} connections", ref.sha256(), size, parts, parts);
    try (FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      java.util.List<java.util.concurrent.Future<?>> ranges = new java.util.ArrayList<>();
      try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
        for (int p = 0; p < parts; p++) {
          long from = p * per;
          long to = Math.min(size, from + per);
          FederationGrpc.FederationBlockingStub connection = connections.get(p);
          ranges.add(executor.submit(() -> {
            fetchRange(connection, ref, out, from, to);
            return null;
          }));
        }
        for (java.util.concurrent.Future<?> range : ranges) {
          range.get();
        }
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof RuntimeException runtime) {
          throw runtime;
        }
        throw new IOException(e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while fetching checkpoint " + ref.sha256(), e);
      }
      out.force(true);
    }
  }

  /** Bytes [from, to) of the checkpoint into {@code out} at the same place, resuming a broken stream. */
  private void fetchRange(FederationGrpc.FederationBlockingStub connection, CheckpointAddress ref, FileChannel out,
      long from, long to) throws IOException {
    long offset = from;
    for (int attempt = 1; offset < to; attempt++) {
      try {
        Iterator<CheckpointChunk> chunks = connection.withDeadlineAfter(10, TimeUnit.MINUTES)
            .fetchCheckpoint(FetchCheckpointRequest.newBuilder().setSha256(ref.sha256()).setOffset(offset)
                .setLength(to - offset).build());
        while (chunks.hasNext()) {
          offset = write(chunks.next(), out, offset);
        }
      } catch (StatusRuntimeException e) {
        if (attempt == ATTEMPTS) {
          throw e;
        }
        log.warn("range [{}, {}) of checkpoint {} broke off at {} ({}); resuming", from, to, ref.sha256(), offset,
            e.getStatus());
      }
    }
  }

  /** Writes a chunk that must start at {@code offset} there; returns the offset after it. */
  private long write(CheckpointChunk chunk, FileChannel out, long offset) throws IOException {
    if (chunk.getOffset() != offset) {
      throw new IllegalStateException("checkpoint chunk at offset " + chunk.getOffset() + ", expected " + offset);
    }
    long position = offset;
    for (var buffer : chunk.getData().asReadOnlyByteBufferList()) {
      while (buffer.hasRemaining()) {
        position += out.write(buffer, position);
      }
    }
    progress.advance(position - offset);
    return position;
  }

  private void downloadFrom(CheckpointAddress ref, Path partial) throws IOException {
    try (FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      long offset = out.size();
      if (offset > ref.sizeBytes()) {
        out.truncate(0);
        offset = 0;
      }
      out.position(offset);
      progress.reached(offset);
      if (offset > 0) {
        log.info("resuming the download of checkpoint {} at byte {} of {}", ref.sha256(), offset, ref.sizeBytes());
      }
      Iterator<CheckpointChunk> chunks = stub.withDeadlineAfter(10, TimeUnit.MINUTES)
          .fetchCheckpoint(FetchCheckpointRequest.newBuilder().setSha256(ref.sha256()).setOffset(offset).build());
      while (chunks.hasNext()) {
        offset = write(chunks.next(), out, offset);
      }
      out.force(true);
    }
  }
}
