package eu.hanse.launcher;

import eu.hanse.protocol.HanseErrors;
import eu.hanse.protocol.v1.AdminGrpc;
import eu.hanse.protocol.v1.ControlJobRequest;
import eu.hanse.protocol.v1.JobStatusRequest;
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
    description = "Talks to a running coordinator's admin interface with an operator's or a training lead's "
        + "certificate (see 'hanse ca issue-admin'). Operators read status and revoke sites; leads read status "
        + "and pause, resume or cancel the job.",
    subcommands = {AdminCommand.Status.class, AdminCommand.Revoke.class, AdminCommand.Pause.class,
        AdminCommand.Resume.class, AdminCommand.Cancel.class})
final class AdminCommand extends CommandGroup {

  /** Where the coordinator is and whose certificate to call it with. */
  static final class Connection {
    @Option(names = "--coordinator", required = true, paramLabel = "HOST:PORT", description = "The coordinator's address.")
    String coordinator;

    @Option(names = "--credential", required = true, paramLabel = "DIR",
        description = "Folder with the caller's ca.crt, node.crt and node.key (from 'hanse ca issue-admin').")
    Path credential;

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

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Prints the job's status as JSON.")
  static final class Status implements Callable<Integer> {
    @Mixin Connection connection = new Connection();

    @Override
    public Integer call() {
      System.out.println(connection.call(stub -> stub.getJobStatus(JobStatusRequest.getDefaultInstance())).getJson());
      return 0;
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

  abstract static class JobControl implements Callable<Integer> {
    @Mixin Connection connection = new Connection();

    abstract ControlJobRequest.Action action();

    @Override
    public Integer call() {
      System.out.println(connection.call(stub -> stub.controlJob(ControlJobRequest.newBuilder().setAction(action()).build()))
          .getJson());
      return 0;
    }
  }

  @Command(name = "pause", mixinStandardHelpOptions = true,
      description = "Pauses the job after the round under way (training leads only).")
  static final class Pause extends JobControl {
    @Override
    ControlJobRequest.Action action() {
      return ControlJobRequest.Action.PAUSE;
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resumes a paused job (training leads only).")
  static final class Resume extends JobControl {
    @Override
    ControlJobRequest.Action action() {
      return ControlJobRequest.Action.RESUME;
    }
  }

  @Command(name = "cancel", mixinStandardHelpOptions = true,
      description = "Cancels the job after the round under way (training leads only).")
  static final class Cancel extends JobControl {
    @Override
    ControlJobRequest.Action action() {
      return ControlJobRequest.Action.CANCEL;
    }
  }
}
