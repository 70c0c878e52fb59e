package eu.hanse.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import eu.hanse.model.ModelState;
import eu.hanse.model.Safetensors;
import eu.hanse.model.TensorSpec;
import eu.hanse.protocol.v1.CheckpointRef;
import eu.hanse.security.CheckpointClaims;
import eu.hanse.security.Digests;
import eu.hanse.security.SigningKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent trains only on checkpoints the consortium signed. */
class CheckpointFetcherTest {
  @TempDir Path dir;
  private final SigningKey consortium = SigningKey.generate();

  /** A checkpoint already on disk (so no download is needed) and its reference. */
  private CheckpointRef.Builder stored() throws Exception {
    ModelState model = new ModelState(List.of(TensorSpec.of("w", 3)), List.of(new float[] {1, 2, 3}), Map.of());
    Path file = dir.resolve("model");
    Safetensors.write(model, file);
    String sha = Digests.sha256Hex(file);
    Files.createDirectories(dir.resolve("checkpoints"));
    Files.move(file, dir.resolve("checkpoints").resolve(sha + ".safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return CheckpointRef.newBuilder().setSha256(sha).setSizeBytes(100).setRound(2).setJobId("job")
        .setParentSha256("ab".repeat(32)).addUpdateIds("u1").addUpdateIds("u2");
  }

  private static byte[] sign(SigningKey key, CheckpointRef.Builder ref) {
    return key.sign(new CheckpointClaims(ref.getJobId(), ref.getRound(), ref.getSha256(), ref.getParentSha256(),
        ref.getUpdateIdsList()).canonicalBytes());
  }

  @Test
  void aCheckpointSignedByTheConsortiumIsUsed() throws Exception {
    CheckpointRef.Builder ref = stored();
    ref.setSignature(ByteString.copyFrom(sign(consortium, ref)));
    ModelState model = new CheckpointFetcher(List.of(), dir, consortium.publicKey()).fetch(AgentWire.checkpoint(ref.build()));
    assertArrayEquals(new float[] {1, 2, 3}, model.data("w"));
  }

  @Test
  void unsignedForgedOrAlteredCheckpointsAreRefused() throws Exception {
    CheckpointFetcher fetcher = new CheckpointFetcher(List.of(), dir, consortium.publicKey());
    CheckpointRef.Builder unsigned = stored();
    assertRefused(fetcher, unsigned.build());

    CheckpointRef.Builder forged = stored();
    forged.setSignature(ByteString.copyFrom(sign(SigningKey.generate(), forged)));
    assertRefused(fetcher, forged.build());

    CheckpointRef.Builder altered = stored();
    altered.setSignature(ByteString.copyFrom(sign(consortium, altered)));
    altered.clearUpdateIds().addUpdateIds("u1");
    assertRefused(fetcher, altered.build());
  }

  private static void assertRefused(CheckpointFetcher fetcher, CheckpointRef ref) {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> fetcher.fetch(AgentWire.checkpoint(ref)));
    assertTrue(e.getMessage().contains("not signed by the consortium"), e.getMessage());
  }
}
