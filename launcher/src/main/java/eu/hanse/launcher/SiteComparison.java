package eu.hanse.launcher;

import eu.hanse.agent.data.SiteData;
import eu.hanse.agent.trainer.HeldOutLoss;
import eu.hanse.agent.trainer.LocalTrainer;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.kernels.TensorBackend;
import eu.hanse.model.ModelState;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The demo's yardstick: trains each site alone and measures any model on the union of all sites'
 * held-out text, the same way the federation's sites evaluate (same positions, same weighting).
 */
final class SiteComparison {
  private final Map<String, SiteData> sites;
  private final JobSpec spec;

  SiteComparison(Map<String, SiteData> sites, JobSpec spec) {
    this.sites = sites;
    this.spec = spec;
  }

  /** Loss over the union of the sites' held-out text: their losses weighted by characters. */
  double unionLoss(ModelState model) {
    return unionLoss(siteLosses(model).values());
  }

  /** The model's loss on each site's held-out text. */
  Map<String, HeldOutLoss> siteLosses(ModelState model) {
    Map<String, HeldOutLoss> losses = new LinkedHashMap<>();
    try (TensorBackend backend = TensorBackend.cpu(1)) {
      for (Map.Entry<String, SiteData> site : sites.entrySet()) {
        losses.put(site.getKey(),
            new LocalTrainer(backend, site.getValue(), LocalTrainer.DEFAULT_EVAL_POSITIONS).evaluate(model));
      }
    }
    return losses;
  }

  /** Losses weighted by their characters. */
  static double unionLoss(Collection<HeldOutLoss> losses) {
    double weighted = 0;
    long samples = 0;
    for (HeldOutLoss loss : losses) {
      weighted += loss.loss() * loss.samples();
      samples += loss.samples();
    }
    return weighted / samples;
  }

  /** Trains a copy of {@code initial} at each site alone for {@code steps} steps; their union losses. */
  Map<String, Double> siteAloneLosses(ModelState initial, int steps) throws Exception {
    int threads = Math.max(1, Math.min(sites.size(), Runtime.getRuntime().availableProcessors()));
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      Map<String, Future<ModelState>> trained = new LinkedHashMap<>();
      for (Map.Entry<String, SiteData> site : sites.entrySet()) {
        trained.put(site.getKey(), pool.submit(() -> trainAlone(site.getKey(), site.getValue(), initial, steps)));
      }
      Map<String, Double> losses = new LinkedHashMap<>();
      for (Map.Entry<String, Future<ModelState>> site : trained.entrySet()) {
        losses.put(site.getKey(), unionLoss(site.getValue().get()));
      }
      return losses;
    } finally {
      pool.shutdownNow();
    }
  }

  private ModelState trainAlone(String site, SiteData data, ModelState initial, int steps) {
    try (TensorBackend backend = TensorBackend.cpu(1)) {
      LocalTrainer trainer = new LocalTrainer(backend, data, LocalTrainer.DEFAULT_EVAL_POSITIONS);
      return trainer.train(initial, steps, spec.trainer().batchSize(), spec.trainer().learningRate(),
          spec.trainer().weightDecay(), spec.seed() ^ site.hashCode()).model();
    }
  }
}
