package eu.hanse.launcher;

import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.AdminGrpc;
import eu.hanse.protocol.v1.RevokeSiteRequest;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "admin", mixinStandardHelpOptions = true,
    description = "An operator's commands on a running coordinator, with an operator's certificate (see 'hanse ca "
        + "issue-admin'): revoke a site. Jobs are 'hanse job'.",
    subcommands = {AdminCommand.Revoke.class})
final class AdminCommand extends CommandGroup {

  /** Where the coordinator is and whose certificate to call it with. */
  static final class Connection {
    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT", description = "The coordinator's address.")
    String coordinator;

    @Option(names = "--credential", required = true, paramLabel = "DIR",
        description = "Folder with the caller's ca.crt, node.crt and node.key (from 'hanse ca issue-admin').")
    Path credential;

    @Option(names = "--parent-pid", hidden = true, description = "Unused; the demo passes it to every child.")
    Long parentPid;

    <T> T call(java.util.function.Function<AdminGrpc.AdminBlockingStub, T> request) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(coordinator)
          .sslContext(TlsContexts.forClient(TlsFiles.in(credential))).build();
      try {
        return request.apply(AdminGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.MINUTES));
      } catch (StatusRuntimeException e) {
        throw new IllegalStateException("the coordinator refused: " + HanseErrors.detailOf(e).getMessage(), e);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revokes site NAME at once (operators only).")
  static final class Revoke implements Callable<Integer> {
    @Mixin Connection connection = new Connection();

    @Parameters(index = "0", paramLabel = "NAME", description = "The site to revoke.")
    String site;

    @Option(names = "--reason", defaultValue = "revoked by an operator", paramLabel = "TEXT",
        description = "Why, for the audit trail (default: ${DEFAULT-VALUE}).")
    String reason;

    @Override
    public Integer call() {
      var reply = connection.call(stub -> stub.revokeSite(RevokeSiteRequest.newBuilder().setSite(site).setReason(reason).build()));
      System.out.println("site " + site + " revoked: certificates " + String.join(", ", reply.getSerialsList()));
      return 0;
    }
  }
}
