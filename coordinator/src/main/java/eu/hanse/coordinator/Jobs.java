package eu.hanse.coordinator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The jobs a coordinator runs, by id, in the order they were submitted. Thread-safe. */
final class Jobs {
  private final Map<String, JobRun> runs = new LinkedHashMap<>();

  synchronized void add(JobRun run) {
    runs.put(run.id().value(), run);
  }

  synchronized Optional<JobRun> find(String id) {
    return Optional.ofNullable(runs.get(id));
  }

  /** The job an update or report names, or a refusal saying it does not run here. */
  JobRun require(String id) {
    return find(id).orElseThrow(() -> new RefusedException(Refusal.NOT_OPEN_ROUND, "job '" + id
        + "' is not running here"));
  }

  synchronized List<JobRun> all() {
    return new ArrayList<>(runs.values());
  }
}
