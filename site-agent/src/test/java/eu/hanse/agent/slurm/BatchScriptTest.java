package eu.hanse.agent.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchScriptTest {
  private static Map<String, String> values() {
    Map<String, String> values = new HashMap<>();
    BatchScript.PLACEHOLDERS.forEach(name -> values.put(name, name.toUpperCase()));
    return values;
  }

  @Test
  void theDefaultTemplateFillsEveryPlaceholder() {
    String script = new BatchScript("default", BatchScript.DEFAULT).render(values());
    assertTrue(script.startsWith("#!/bin/bash\n#SBATCH --job-name=JOB_NAME\n#SBATCH --partition=PARTITION\n"), script);
    assertTrue(script.contains("#SBATCH --gpus-per-node=GPUS_PER_NODE\n#SBATCH --time=TIME_LIMIT\n"), script);
    assertTrue(script.contains("\nMODULES\nENVIRONMENT\ncd WORK_DIR\nLAUNCH\n"), script);
    assertFalse(script.contains("{{"), script);
  }

  @Test
  void anSbatchLineWhoseValueIsEmptyIsLeftOutButOtherLinesStay() {
    Map<String, String> values = values();
    values.put("account", "");
    values.put("gpus_per_node", "");
    values.put("modules", "");
    String script = new BatchScript("default", BatchScript.DEFAULT).render(values);
    assertFalse(script.contains("--account"), script);
    assertFalse(script.contains("--gpus-per-node"), script);
    assertTrue(script.contains("#SBATCH --nodes=NODES"), script);
    assertTrue(script.contains("set -euo pipefail\n\nENVIRONMENT"), "an empty modules line stays, empty: " + script);
  }

  @Test
  void aTemplateWithAnUnknownPlaceholderIsRefusedWithItsLine() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new BatchScript("site.sbatch", "#!/bin/bash\n#SBATCH --partition={{partition}}\n#SBATCH --qos={{qos}}\n"
            + "{{launch}}\n"));
    assertTrue(e.getMessage().startsWith("site.sbatch:3: unknown placeholder {{qos}}"), e.getMessage());
  }

  @Test
  void aTemplateMustRunTheTrainerAndBeAScript() {
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> new BatchScript("t", "#!/bin/bash\necho hello\n")).getMessage().contains("never uses {{launch}}"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> new BatchScript("t", "{{launch}}\n")).getMessage().startsWith("t:1: a batch script starts with '#!'"));
  }

  @Test
  void renderingWithoutAValueIsRefused() {
    Map<String, String> values = values();
    values.remove("log");
    assertThrows(IllegalArgumentException.class, () -> new BatchScript("t", BatchScript.DEFAULT).render(values));
  }

  @Test
  void wordsAreQuotedForTheShellOnlyWhenTheyNeedIt() {
    assertEquals("/p/project/train.py", BatchScript.quoted("/p/project/train.py"));
    assertEquals("'two words'", BatchScript.quoted("two words"));
    assertEquals("'it'\"'\"'s'", BatchScript.quoted("it's"));
    assertEquals("'$HOME'", BatchScript.quoted("$HOME"));
  }
}
