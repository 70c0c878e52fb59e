package eu.hanse.agent.slurm;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A site's batch script template: a shell script with {@code {{name}}} placeholders that the agent
 * fills in each round. An {@code #SBATCH} line whose placeholder is empty (no account, no GPUs) is
 * left out. A template must start with {@code #!} and hold {@code {{launch}}}; one with a
 * placeholder not in {@link #PLACEHOLDERS} is refused when it is read, not when a round needs it.
 */
public final class BatchScript {
  /** Every placeholder a template may use; {@code docs/slurm.md} says what each becomes. */
  public static final Set<String> PLACEHOLDERS = Set.of("job_name", "partition", "account", "nodes", "gpus_per_node",
      "time_limit", "log", "work_dir", "sbatch_options", "modules", "environment", "container", "launch");

  /** The template used when a site names none: the trainer runs once, on the job's first node. */
  public static final String DEFAULT = """
      #!/bin/bash
      #SBATCH --job-name={{job_name}}
      #SBATCH --partition={{partition}}
      #SBATCH --account={{account}}
      #SBATCH --nodes={{nodes}}
      #SBATCH --gpus-per-node={{gpus_per_node}}
      #SBATCH --time={{time_limit}}
      #SBATCH --output={{log}}
      {{sbatch_options}}
      set -euo pipefail
      {{modules}}
      {{environment}}
      cd {{work_dir}}
      {{launch}}
      """;

  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\s*([a-z_]+)\\s*}}");
  private static final Pattern ANY_BRACES = Pattern.compile("\\{\\{[^}]*}}");

  private final String name;
  private final String template;

  /**
   * @param name where the template came from, for errors
   * @throws IllegalArgumentException if it is not a usable template, saying where
   */
  public BatchScript(String name, String template) {
    this.name = name;
    this.template = template;
    if (!template.startsWith("#!")) {
      throw new IllegalArgumentException(name + ":1: a batch script starts with '#!' and its shell, e.g. #!/bin/bash");
    }
    String[] lines = template.split("\n", -1);
    boolean launches = false;
    for (int i = 0; i < lines.length; i++) {
      Matcher braces = ANY_BRACES.matcher(lines[i]);
      while (braces.find()) {
        Matcher placeholder = PLACEHOLDER.matcher(braces.group());
        if (!placeholder.matches() || !PLACEHOLDERS.contains(placeholder.group(1))) {
          throw new IllegalArgumentException(name + ":" + (i + 1) + ": unknown placeholder " + braces.group()
              + "; a template may use " + new java.util.TreeSet<>(PLACEHOLDERS));
        }
        launches |= placeholder.group(1).equals("launch");
      }
    }
    if (!launches) {
      throw new IllegalArgumentException(name + ": the template never uses {{launch}}, so it would not run the "
          + "trainer");
    }
  }

  public String name() {
    return name;
  }

  /**
   * The script for one round: each placeholder replaced by its value in {@code values}, which must
   * give every placeholder; {@code #SBATCH} lines whose placeholders are all empty are left out.
   */
  public String render(Map<String, String> values) {
    if (!values.keySet().containsAll(PLACEHOLDERS)) {
      throw new IllegalArgumentException("values for " + PLACEHOLDERS.stream().filter(p -> !values.containsKey(p))
          .sorted().toList() + " are missing");
    }
    List<String> out = new ArrayList<>();
    for (String line : template.split("\n", -1)) {
      Matcher placeholder = PLACEHOLDER.matcher(line);
      boolean anyFilled = false;
      boolean anyPlaceholder = false;
      StringBuilder rendered = new StringBuilder();
      while (placeholder.find()) {
        String value = values.get(placeholder.group(1));
        anyPlaceholder = true;
        anyFilled |= !value.isEmpty();
        placeholder.appendReplacement(rendered, Matcher.quoteReplacement(value));
      }
      placeholder.appendTail(rendered);
      if (anyPlaceholder && !anyFilled && line.stripLeading().startsWith("#SBATCH")) {
        continue;
      }
      out.add(rendered.toString());
    }
    return String.join("\n", out);
  }

  /** {@code word} quoted for a POSIX shell, as one word. */
  static String quoted(String word) {
    if (word.matches("[A-Za-z0-9_./:=@%+,-]+")) {
      return word;
    }
    return "'" + word.replace("'", "'\"'\"'") + "'";
  }
}
