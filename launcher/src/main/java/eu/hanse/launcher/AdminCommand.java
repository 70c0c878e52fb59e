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
    description = "Commands on a running coordinator with an operator's, a lead's or a viewer's certificate (see "
        + "'hanse ca issue-admin'): revoke a site (operators); open the console in a browser. Jobs are 'hanse job'.",
    subcommands = {AdminCommand.Revoke.class, AdminCommand.ConsoleLink.class})
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

  @Command(name = "console-link", mixinStandardHelpOptions = true,
      description = "Opens a console session with your certificate and prints a one-time link that signs a browser "
          + "in to the coordinator's dashboard (valid for 5 minutes; the session lasts 12 hours, with your role).")
  static final class ConsoleLink implements Callable<Integer> {
    @Mixin ConsoleClient.Options console = new ConsoleClient.Options();

    @Option(names = "--json", description = "Print the session as JSON, with its bearer token for scripts.")
    boolean json;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
      java.io.PrintWriter out = spec.commandLine().getOut();
      com.fasterxml.jackson.databind.JsonNode session = console.client()
          .post("/api/v1/sessions", "{}");
      if (json) {
        out.println(session.toPrettyString());
        return 0;
      }
      out.println("Open this link in your browser within 5 minutes (it works once):");
      out.println("  " + session.get("loginUrl").asText());
      out.println("You are " + session.get("identity").asText() + " (" + session.get("role").asText()
          + "); the session lasts until " + session.get("expires").asText() + ".");
      out.println("The browser must trust the consortium's CA (ca.crt in " + console.credential + "), or accept the "
          + "coordinator's certificate once.");
      return 0;
    }
  }
}
