package eu.hanse.coordinator.events;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Checkpoint bytes the coordinator has sent each site since it started: the sites' downloads. Thread-safe. */
public final class SiteTraffic {
  private final Map<String, LongAdder> sent = new ConcurrentHashMap<>();

  public void sent(String site, long bytes) {
    sent.computeIfAbsent(site, name -> new LongAdder()).add(bytes);
  }

  /** Bytes sent so far, by site, in the sites' order. */
  public Map<String, Long> sentBySite() {
    Map<String, Long> copy = new TreeMap<>();
    sent.forEach((site, bytes) -> copy.put(site, bytes.sum()));
    return copy;
  }
}
