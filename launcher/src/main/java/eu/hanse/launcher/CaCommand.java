package eu.hanse.launcher;

import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SiteId;
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
    subcommands = {CaCommand.Init.class, CaCommand.IssueSite.class})
final class CaCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

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
      CertificateAuthority ca = CertificateAuthority.create(dataDir.resolve("ca"), consortium, force, Clock.systemUTC());
      TlsFiles files = ca.issue(NodeIdentity.coordinator("coordinator"), hosts, Duration.ofDays(365), dataDir.resolve("tls"));
      System.out.println("consortium CA in " + dataDir.resolve("ca") + "; coordinator certificate " + files.certificate()
          + " for " + String.join(", ", hosts));
    }
  }

  @Command(name = "issue-site", mixinStandardHelpOptions = true,
      description = "Issues a site's certificate and key into SITE-DIR/tls, for 'hanse agent --data-dir SITE-DIR'. The key is generated here: copy SITE-DIR to the site over a trusted channel.")
  static final class IssueSite implements Runnable {
    @Parameters(index = "0", paramLabel = "NAME", description = "The site's name: lower-case letters, digits and '-'.")
    String name;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The coordinator's data directory (holds ca/).")
    Path dataDir;

    @Option(names = "--out", required = true, paramLabel = "SITE-DIR", description = "The site's data directory to write tls/ into.")
    Path out;

    @Option(names = "--days", defaultValue = "365", paramLabel = "N", description = "Validity in days (default: ${DEFAULT-VALUE}).")
    int days;

    @Override
    public void run() {
      CertificateAuthority ca = CertificateAuthority.load(dataDir.resolve("ca"));
      SiteId site = new SiteId(name);
      TlsFiles files = ca.issue(NodeIdentity.site(site), List.of(), Duration.ofDays(days), out.resolve("tls"));
      System.out.println("site " + site + ": certificate " + files.certificate() + ", key " + files.privateKey());
    }
  }
}
