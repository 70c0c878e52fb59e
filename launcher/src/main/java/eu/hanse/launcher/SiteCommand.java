package eu.hanse.launcher;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.security.SiteId;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "site", mixinStandardHelpOptions = true,
    description = "Admits sites to the consortium and shuts them out, on the coordinator's machine.",
    subcommands = {SiteCommand.Invite.class, SiteCommand.Revoke.class})
final class SiteCommand extends CommandGroup {

  @Command(name = "invite", mixinStandardHelpOptions = true,
      description = "Prints a one-time enrolment token for site NAME. It works once, for that site only, "
          + "until it expires; the site redeems it with 'hanse agent enroll'. Only a hash of it is stored.")
  static final class Invite implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "The site's name: lower-case letters, digits and '-'.")
    String name;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The coordinator's data directory.")
    Path dataDir;

    @Option(names = "--valid-for", defaultValue = "PT24H", paramLabel = "DURATION",
        description = "How long the token stays valid, ISO-8601 (default: ${DEFAULT-VALUE}).")
    Duration validFor;

    @Override
    public void run() {
      SiteId site = new SiteId(name);
      try (Consortium consortium = Consortium.open(dataDir, Clock.systemUTC())) {
        String token = consortium.invite(site, validFor, "cli:" + System.getProperty("user.name"));
        spec.commandLine().getOut().println(token);
        Path enrolAddress = dataDir.resolve(CoordinatorCommand.ENROL_ADDRESS_FILE);
        String address = Files.exists(enrolAddress) ? readQuietly(enrolAddress) : "COORDINATOR:7444";
        spec.commandLine().getErr().println("Give this token to site " + site + " over a trusted channel; it expires in " + validFor
            + ". At the site run:\n  hanse agent enroll --coordinator " + address + " --token " + token
            + " --data-dir SITE-DIR");
      }
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revokes every certificate of site NAME: a running coordinator closes its streams, refuses its "
          + "handshakes and discards its update in the open round within a second. Survives restarts (a signed CRL "
          + "in DATA-DIR/ca).")
  static final class Revoke implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "The site to revoke.")
    String name;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The coordinator's data directory.")
    Path dataDir;

    @Option(names = "--reason", defaultValue = "revoked by an operator", paramLabel = "TEXT",
        description = "Why, for the audit trail (default: ${DEFAULT-VALUE}).")
    String reason;

    @Override
    public void run() {
      try (Consortium consortium = Consortium.open(dataDir, Clock.systemUTC())) {
        List<BigInteger> serials = consortium.revoke(new SiteId(name), reason, "cli:" + System.getProperty("user.name"));
        spec.commandLine().getOut().println("site " + name + " revoked: certificate" + (serials.size() == 1 ? " " : "s ")
            + String.join(", ", serials.stream().map(s -> s.toString(16)).toList()));
      }
    }
  }

  static String readQuietly(Path file) {
    try {
      return Files.readString(file).strip();
    } catch (java.io.IOException e) {
      return "COORDINATOR:7444";
    }
  }
}
