package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PublicKey;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SignaturesTest {
  private static final byte[] MESSAGE = "round 7 update from juelich".getBytes(UTF_8);

  @TempDir Path tmp;

  @Test
  void signatureOfMessageVerifiesUnderItsPublicKey() {
    SigningKey key = SigningKey.generate();
    byte[] signature = key.sign(MESSAGE);
    assertEquals(Signatures.SIGNATURE_LENGTH, signature.length);
    assertTrue(Signatures.verify(key.publicKey(), MESSAGE, signature));
  }

  @Test
  void everyFlippedBitInMessageOrSignatureFailsVerification() {
    SigningKey key = SigningKey.generate();
    byte[] signature = key.sign(MESSAGE);
    for (int bit = 0; bit < MESSAGE.length * 8; bit++) {
      assertFalse(Signatures.verify(key.publicKey(), flip(MESSAGE, bit), signature), "msg " + bit);
    }
    for (int bit = 0; bit < signature.length * 8; bit++) {
      assertFalse(Signatures.verify(key.publicKey(), MESSAGE, flip(signature, bit)), "sig " + bit);
    }
  }

  @Test
  void signatureUnderAnotherKeyFails() {
    byte[] signature = SigningKey.generate().sign(MESSAGE);
    assertFalse(Signatures.verify(SigningKey.generate().publicKey(), MESSAGE, signature));
  }

  @Test
  void garbageSignaturesReturnFalseWithoutThrowing() {
    PublicKey key = SigningKey.generate().publicKey();
    Random random = new Random(42);
    for (int length : new int[] {0, 1, 32, 63, 65, 128}) {
      byte[] garbage = new byte[length];
      random.nextBytes(garbage);
      assertFalse(Signatures.verify(key, MESSAGE, garbage), "length " + length);
    }
    for (int i = 0; i < 100; i++) {
      byte[] garbage = new byte[Signatures.SIGNATURE_LENGTH];
      random.nextBytes(garbage);
      assertFalse(Signatures.verify(key, MESSAGE, garbage));
    }
    byte[] allOnes = new byte[Signatures.SIGNATURE_LENGTH];
    java.util.Arrays.fill(allOnes, (byte) 0xff);
    assertFalse(Signatures.verify(key, MESSAGE, allOnes), "S above the group order");
    assertFalse(Signatures.verify(key, MESSAGE, new byte[Signatures.SIGNATURE_LENGTH]));
    assertFalse(Signatures.verify(key, MESSAGE, null));
  }

  @Test
  void verifyingWithANonEd25519KeyIsAProgrammingError() throws Exception {
    PublicKey ec = TestCertificates.ecKeyPair().getPublic();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Signatures.verify(ec, MESSAGE, new byte[64]));
    assertTrue(e.getMessage().contains("Ed25519"), e.getMessage());
  }

  @Test
  void savedKeyLoadsBackAndSignsVerifiably() throws Exception {
    SigningKey key = SigningKey.generate();
    Path privatePem = tmp.resolve("site.key");
    Path publicPem = tmp.resolve("site.pub");
    key.save(privatePem, publicPem);
    assertTrue(Files.readString(privatePem).startsWith("-----BEGIN PRIVATE KEY-----\n"));
    assertTrue(Files.readString(publicPem).startsWith("-----BEGIN PUBLIC KEY-----\n"));

    SigningKey loaded = SigningKey.load(privatePem);
    assertEquals(key.publicKey(), loaded.publicKey(), "public key derived from the private one");
    assertEquals(key.publicKey(), Signatures.loadPublicKey(publicPem));
    assertTrue(Signatures.verify(key.publicKey(), MESSAGE, loaded.sign(MESSAGE)));
  }

  @Test
  void savedPrivateKeyIsOwnerOnlyAndPublicKeyIsReadable() throws Exception {
    Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
    SigningKey.generate().save(tmp.resolve("k"), tmp.resolve("p"));
    assertEquals("rw-------", permissions(tmp.resolve("k")));
    assertEquals("rw-r--r--", permissions(tmp.resolve("p")));
  }

  @Test
  void loadingAnEcKeyAsSigningKeyNamesTheFile() throws Exception {
    Path ecKey = tmp.resolve("node.key");
    PemFiles.writePrivateKey(ecKey, TestCertificates.ecKeyPair().getPrivate());
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> SigningKey.load(ecKey));
    assertTrue(e.getMessage().contains(ecKey.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("Ed25519"), e.getMessage());
  }

  @Test
  void loadingAPublicKeyFromANonKeyFileNamesTheFile() throws Exception {
    Path file = tmp.resolve("ca.crt");
    Files.writeString(file, "not pem\n");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> Signatures.loadPublicKey(file));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  @Test
  void rawPublicKeyRoundTrips() {
    PublicKey key = SigningKey.generate().publicKey();
    byte[] raw = Signatures.rawPublicKey(key);
    assertEquals(Signatures.PUBLIC_KEY_LENGTH, raw.length);
    PublicKey back = Signatures.publicKeyFromRaw(raw);
    assertEquals(key, back);
    assertArrayEquals(raw, Signatures.rawPublicKey(back));
  }

  @Test
  void rawPublicKeyOfRfc8032TestVectorMatches() {
    // RFC 8032 section 7.1, TEST 1: the known public key decodes and re-encodes unchanged.
    byte[] raw = HexFormat.of().parseHex(
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    byte[] signature = HexFormat.of().parseHex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    PublicKey key = Signatures.publicKeyFromRaw(raw);
    assertArrayEquals(raw, Signatures.rawPublicKey(key));
    assertTrue(Signatures.verify(key, new byte[0], signature));
  }

  @Test
  void publicKeyFromRawRejectsWrongLengthsAndNonPoints() {
    for (int length : new int[] {0, 31, 33, 44}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Signatures.publicKeyFromRaw(new byte[length]), "length " + length);
      assertTrue(e.getMessage().contains("32 bytes"), e.getMessage());
    }
    // y = 2 has no x on edwards25519 (2 is not a valid y-coordinate: (y^2-1)/(dy^2+1) is a
    // non-residue), so these bytes are not a public key.
    byte[] notAPoint = new byte[32];
    notAPoint[0] = 2;
    assertThrows(IllegalArgumentException.class, () -> Signatures.publicKeyFromRaw(notAPoint));
  }

  @Test
  void rawPublicKeyRejectsEcKeys() throws Exception {
    assertThrows(IllegalArgumentException.class,
        () -> Signatures.rawPublicKey(TestCertificates.ecKeyPair().getPublic()));
  }

  private static byte[] flip(byte[] bytes, int bit) {
    byte[] copy = bytes.clone();
    copy[bit / 8] ^= (byte) (1 << (bit % 8));
    return copy;
  }

  private static String permissions(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }
}
