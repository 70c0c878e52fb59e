package eu.hanse.launcher;

import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.security.AuditLog;
import eu.hanse.security.AuditVerification;
import eu.hanse.security.Signatures;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "The coordinator's append-only, hash-chained audit trail of security events.",
    subcommands = {AuditCommand.Verify.class})
final class AuditCommand extends CommandGroup {

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "Checks every entry's hash chain and the signed head. Exits 0 if the trail is intact, "
          + "1 naming the first bad entry if any byte was changed, removed or reordered.")
  static final class Verify implements Callable<Integer> {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "The coordinator's data directory.")
    Path dataDir;

    @Override
    public Integer call() {
      Path trail = Consortium.auditFile(dataDir);
      AuditVerification result = AuditLog.verify(trail,
          Signatures.loadPublicKey(dataDir.resolve("ca").resolve("checkpoint-signing.pub")));
      spec.commandLine().getOut().println(trail + ": " + result.describe());
      return result.ok() ? 0 : 1;
    }
  }
}
