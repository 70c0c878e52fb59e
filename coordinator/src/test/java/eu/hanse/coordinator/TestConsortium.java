package eu.hanse.coordinator;

import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.IssuedCertificates;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A consortium for tests: a CA, the coordinator's certificate, and sites with signing keys. */
public final class TestConsortium {
  final Path pki;
  final CertificateAuthority ca;
  final TlsFiles coordinatorTls;
  final Map<String, SigningKey> signing = new HashMap<>();

  public TestConsortium(Path pki, String... sites) {
    this.pki = pki;
    this.ca = CertificateAuthority.create(pki.resolve("ca"), "test consortium", false, Clock.systemUTC());
    this.coordinatorTls = ca.issue(NodeIdentity.coordinator("coordinator"), List.of("127.0.0.1"), Duration.ofDays(1),
        pki.resolve("coordinator"));
    for (String site : sites) {
      signing.put(site, SigningKey.generate());
      issue(NodeIdentity.site(new SiteId(site)), signing.get(site), site);
    }
  }

  /** Issues and records a certificate for any identity into {@code pki/folder}. */
  TlsFiles issue(NodeIdentity identity, SigningKey key, String folder) {
    TlsFiles files = ca.issue(identity, key == null ? null : key.publicKey(), List.of(), Duration.ofDays(1),
        pki.resolve(folder));
    new IssuedCertificates(pki.resolve("ca")).record(EnrolmentTls.readCertificate(files.certificate()));
    return files;
  }

  public TlsFiles site(String name) {
    return TlsFiles.in(pki.resolve(name));
  }

  /** Gives a coordinator's data directory this consortium's CA, as 'hanse ca init' would have. */
  public CoordinatorConfig config(Path dataDir) throws IOException {
    Path target = Files.createDirectories(dataDir.resolve("ca"));
    try (var files = Files.list(pki.resolve("ca"))) {
      for (Path file : files.toList()) {
        Files.copy(file, target.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return new CoordinatorConfig(dataDir, "127.0.0.1", 0, 0, coordinatorTls);
  }
}
