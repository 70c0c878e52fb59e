package eu.hanse.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code hanse} command line: one entry point over the coordinator, the site agent and the demo. */
@Command(
    name = "hanse",
    mixinStandardHelpOptions = true,
    versionProvider = Hanse.Version.class,
    description = "Federated training across supercomputing centres: a coordinator schedules rounds, a site agent at each centre trains on local data and streams back an update, over mutually authenticated TLS.",
    subcommands = {
        DemoCommand.class,
        CoordinatorCommand.class,
        AgentCommand.class,
        CaCommand.class,
        SiteCommand.class,
        JobCommand.class,
        StatusCommand.class,
        AdminCommand.class,
        AuditCommand.class,
        BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class Hanse implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.setProperty(eu.hanse.logging.HanseLogging.FORMAT_PROPERTY, isServer(args) ? "json" : "text");
    eu.hanse.kernels.PeakMemory.reportAtExitIfAsked();
    System.exit(commandLine().execute(args));
  }

  /** The coordinator and the agent log JSON lines for journals and files; commands a person runs log text. */
  private static boolean isServer(String[] args) {
    boolean agentSubcommand = args.length > 1 && java.util.Set.of("enroll", "renew").contains(args[1]);
    return args.length > 0 && (args[0].equals("coordinator") || args[0].equals("agent") && !agentSubcommand);
  }

  /** The command line with Hanse's error handling: a bad option or a refused input is one clear line. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new Hanse());
    commandLine.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof IllegalArgumentException || e instanceof IllegalStateException
          || e instanceof java.io.UncheckedIOException || e instanceof eu.hanse.config.ConfigFileException
          || e instanceof java.nio.file.NoSuchFileException) {
        cmd.getErr().println("hanse: " + e.getMessage());
        return 2;
      }
      throw e;
    });
    return commandLine;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Hanse.class.getPackage().getImplementationVersion();
      return new String[] {"hanse " + (version == null ? "(development build)" : version)};
    }
  }
}
