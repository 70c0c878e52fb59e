package eu.hanse.launcher;

import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.IssuedCertificates;
import eu.hanse.security.TlsFiles;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "ca", mixinStandardHelpOptions = true,
    description = "The consortium's certificate authority: every link in a federation is mutual TLS under it.",
    subcommands = {CaCommand.Init.class, CaCommand.IssueAdmin.class})
final class CaCommand extends CommandGroup {

  @Command(name = "init", mixinStandardHelpOptions = true,
      description = "Creates the consortium CA in DATA-DIR/ca and the coordinator's certificate in DATA-DIR/tls. Keys are owner-only. An existing CA is never replaced without --force.")
  static final class Init implements Runnable {
    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The coordinator's data directory.")
    Path dataDir;

    @Option(names = "--consortium", defaultValue = "Hanse consortium", paramLabel = "NAME",
        description = "Name written into the CA certificate (default: ${DEFAULT-VALUE}).")
    String consortium;

    @Option(names = "--host", paramLabel = "HOST", split = ",",
        description = "Names and addresses sites dial the coordinator by, comma-separated "
            + "(default: localhost,127.0.0.1; add the machine's DNS name or IP for remote sites).")
    List<String> hosts = List.of("localhost", "127.0.0.1");

    @Option(names = "--force", description = "Replace an existing CA (every issued certificate stops working).")
    boolean force;

    @Override
    public void run() {
      TlsFiles files = initialise(dataDir, consortium, hosts, force);
      System.out.println("consortium CA in " + dataDir.resolve("ca") + " (TLS: EC P-256; checkpoints: Ed25519); "
          + "coordinator certificate " + files.certificate() + " for " + String.join(", ", hosts));
    }

    /** Creates the CA in DATA-DIR/ca and the coordinator's certificate in DATA-DIR/tls. */
    static TlsFiles initialise(Path dataDir, String consortium, List<String> hosts, boolean force) {
      CertificateAuthority ca = CertificateAuthority.create(dataDir.resolve("ca"), consortium, force, Clock.systemUTC());
      TlsFiles files = ca.issue(NodeIdentity.coordinator("coordinator"), hosts, Duration.ofDays(365), dataDir.resolve("tls"));
      new IssuedCertificates(dataDir.resolve("ca")).record(
          eu.hanse.security.EnrolmentTls.readCertificate(files.certificate()));
      return files;
    }
  }

  @Command(name = "issue-admin", mixinStandardHelpOptions = true,
      description = "Issues an operator's, a training lead's or a viewer's certificate and key into OUT, for 'hanse admin "
          + "--credential OUT'. The key is made here, on the CA's machine: hand OUT over a trusted channel. Sites do "
          + "not get certificates this way: they enrol ('hanse site invite', 'hanse agent enroll').")
  static final class IssueAdmin implements Runnable {
    @Parameters(index = "0", paramLabel = "NAME", description = "The person's or tool's name: lower-case letters, digits and '-'.")
    String name;

    @Option(names = "--role", required = true, paramLabel = "ROLE",
        description = "operator (reads status, revokes sites), lead (reads status, controls jobs) or viewer (a "
            + "read-only operator: reads everything, changes nothing; for dashboards and Prometheus).")
    String role;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The coordinator's data directory (holds ca/).")
    Path dataDir;

    @Option(names = "--out", required = true, paramLabel = "OUT", description = "Folder to write ca.crt, node.crt and node.key into.")
    Path out;

    @Option(names = "--days", defaultValue = "90", paramLabel = "N", description = "Validity in days (default: ${DEFAULT-VALUE}).")
    int days;

    @Override
    public void run() {
      NodeIdentity identity = switch (role) {
        case "operator" -> NodeIdentity.operator(name);
        case "lead" -> NodeIdentity.lead(name);
        case "viewer" -> NodeIdentity.viewer(name);
        default -> throw new IllegalArgumentException("role must be operator, lead or viewer, was '" + role + "'");
      };
      TlsFiles files = issue(identity, dataDir, out, days);
      System.out.println(role + " " + name + ": certificate " + files.certificate() + ", key " + files.privateKey());
    }

    /** Issues an operator's or a lead's certificate from the CA in {@code dataDir} into {@code out}. */
    static TlsFiles issue(NodeIdentity identity, Path dataDir, Path out, int days) {
      CertificateAuthority ca = CertificateAuthority.load(dataDir.resolve("ca"));
      TlsFiles files = ca.issue(identity, List.of(), Duration.ofDays(days), out);
      new IssuedCertificates(dataDir.resolve("ca")).record(
          eu.hanse.security.EnrolmentTls.readCertificate(files.certificate()));
      return files;
    }
  }

}
