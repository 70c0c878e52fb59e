package eu.hanse.agent;

import eu.hanse.aggregation.ModelState;
import eu.hanse.aggregation.Safetensors;
import eu.hanse.protocol.v1.CheckpointChunk;
import eu.hanse.protocol.v1.CheckpointRef;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.FetchCheckpointRequest;
import eu.hanse.security.CheckpointClaims;
import eu.hanse.security.Digests;
import eu.hanse.security.Signatures;
import java.security.PublicKey;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downloads checkpoints into {@code <data-dir>/checkpoints}, in chunks, resuming a broken download
 * from the bytes already on disk, and keeps a file only if its SHA-256 is the checkpoint's id.
 * Remembers the last checkpoint it read, since a round's evaluation and training use the same one.
 */
final class CheckpointFetcher {
  private static final Logger log = LoggerFactory.getLogger(CheckpointFetcher.class);
  private static final int ATTEMPTS = 4;

  private final FederationGrpc.FederationBlockingStub stub;
  private final Path directory;
  private final PublicKey consortiumKey;
  private String cachedSha;
  private ModelState cached;

  CheckpointFetcher(FederationGrpc.FederationBlockingStub stub, Path dataDir, PublicKey consortiumKey) {
    this.stub = stub;
    this.directory = dataDir.resolve("checkpoints");
    this.consortiumKey = consortiumKey;
  }

  /**
   * The checkpoint's parameters, downloaded if this site does not have them yet. Refuses a
   * checkpoint whose claims are not signed by the consortium, before reading a byte of it.
   */
  ModelState fetch(CheckpointRef ref) {
    if (ref.getSha256().equals(cachedSha)) {
      requireSigned(ref);
      return cached;
    }
    ModelState state = Safetensors.read(fetchFile(ref));
    cachedSha = ref.getSha256();
    cached = state;
    return state;
  }

  /**
   * The checkpoint's file, downloaded if this site does not have it yet, for reading a block at a
   * time. Refuses a checkpoint whose claims are not signed by the consortium, before reading a byte.
   */
  Path fetchFile(CheckpointRef ref) {
    requireSigned(ref);
    Path file = directory.resolve(ref.getSha256() + ".safetensors");
    try {
      Files.createDirectories(directory);
      if (!Files.isRegularFile(file)) {
        download(ref, file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot store checkpoint " + ref.getSha256() + ": " + e.getMessage(), e);
    }
    return file;
  }

  private void requireSigned(CheckpointRef ref) {
    CheckpointClaims claims = new CheckpointClaims(ref.getJobId(), ref.getRound(), ref.getSha256(),
        ref.getParentSha256(), ref.getUpdateIdsList());
    if (!Signatures.verify(consortiumKey, claims.canonicalBytes(), ref.getSignature().toByteArray())) {
      throw new IllegalStateException("checkpoint " + ref.getSha256() + " of round " + ref.getRound()
          + " is not signed by the consortium's checkpoint key: refusing to train on it");
    }
  }

  private void download(CheckpointRef ref, Path file) throws IOException {
    Path partial = file.resolveSibling(file.getFileName() + ".part");
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
    String actual = Digests.sha256Hex(partial);
    if (!actual.equals(ref.getSha256())) {
      Files.delete(partial);
      throw new IllegalStateException("downloaded checkpoint hashes to " + actual + ", not its id " + ref.getSha256());
    }
    Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private void downloadFrom(CheckpointRef ref, Path partial) throws IOException {
    try (FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      long offset = out.size();
      if (offset > ref.getSizeBytes()) {
        out.truncate(0);
        offset = 0;
      }
      out.position(offset);
      if (offset > 0) {
        log.info("resuming the download of checkpoint {} at byte {} of {}", ref.getSha256(), offset, ref.getSizeBytes());
      }
      Iterator<CheckpointChunk> chunks = stub.withDeadlineAfter(10, TimeUnit.MINUTES)
          .fetchCheckpoint(FetchCheckpointRequest.newBuilder().setSha256(ref.getSha256()).setOffset(offset).build());
      while (chunks.hasNext()) {
        CheckpointChunk chunk = chunks.next();
        if (chunk.getOffset() != offset) {
          throw new IllegalStateException("checkpoint chunk at offset " + chunk.getOffset() + ", expected " + offset);
        }
        for (var buffer : chunk.getData().asReadOnlyByteBufferList()) {
          while (buffer.hasRemaining()) {
            out.write(buffer);
          }
        }
        offset += chunk.getData().size();
      }
      out.force(true);
    }
  }
}
