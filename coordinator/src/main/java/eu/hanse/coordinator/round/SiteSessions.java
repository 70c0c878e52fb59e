package eu.hanse.coordinator.round;

import eu.hanse.coordinator.job.Refusal;
import eu.hanse.security.SiteId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agents connected now, one link per site; a site that reconnects replaces its old link.
 * Thread-safe. Listeners run on the thread that changed the registry and must not block.
 */
public final class SiteSessions {
  private static final Logger log = LoggerFactory.getLogger(SiteSessions.class);
  private final Map<SiteId, AgentLink> links = new LinkedHashMap<>();
  private final List<Runnable> listeners = new ArrayList<>();
  private final List<java.util.function.Consumer<AgentLink>> connectListeners = new ArrayList<>();
  /** Told of every site that comes online or goes offline: the federation's event stream. */
  private final java.util.function.BiConsumer<String, Map<String, Object>> announce;

  public SiteSessions() {
    this((type, fields) -> { });
  }

  public SiteSessions(java.util.function.BiConsumer<String, Map<String, Object>> announce) {
    this.announce = announce;
  }

  synchronized void addListener(Runnable listener) {
    listeners.add(listener);
  }

  /** Called with every new link, after it is registered: a (re)connected site may have work pending. */
  synchronized void addConnectListener(java.util.function.Consumer<AgentLink> listener) {
    connectListeners.add(listener);
  }

  public void connected(AgentLink link) {
    AgentLink previous;
    synchronized (this) {
      previous = links.put(link.site(), link);
      log.info("site {} {} ({}, {} training examples)", link.site(),
          previous == null ? "online" : "reconnected", link.device(), link.trainSamples());
    }
    if (previous != null) {
      previous.close();
    } else {
      announce.accept("site.online", Map.of("site", link.site().name(), "device", link.device(),
          "trainSamples", link.trainSamples()));
    }
    List<java.util.function.Consumer<AgentLink>> onConnect;
    synchronized (this) {
      onConnect = List.copyOf(connectListeners);
    }
    onConnect.forEach(listener -> listener.accept(link));
    notifyListeners();
  }

  /** Removes the link if it is still the site's current one. */
  public void disconnected(AgentLink link) {
    synchronized (this) {
      if (!links.remove(link.site(), link)) {
        return;
      }
      log.info("site {} offline", link.site());
    }
    announce.accept("site.offline", Map.of("site", link.site().name()));
    notifyListeners();
  }

  /**
   * Marks offline, and disconnects, every site not heard from in {@code timeout}: its process may
   * hang with its connection still open. It is online again when it reconnects.
   */
  public void expireSilent(java.time.Duration timeout) {
    long now = System.nanoTime();
    List<AgentLink> silent;
    synchronized (this) {
      silent = links.values().stream().filter(link -> now - link.lastHeardNanos() > timeout.toNanos()).toList();
    }
    for (AgentLink link : silent) {
      log.warn("site {} offline: no heartbeat for {} s", link.site(), (now - link.lastHeardNanos()) / 1_000_000_000);
      disconnected(link);
      link.refuse(Refusal.NOT_OPEN_ROUND, "no heartbeat for " + timeout.toSeconds() + " s; reconnect");
    }
  }

  public synchronized List<AgentLink> online() {
    List<AgentLink> sorted = new ArrayList<>(links.values());
    sorted.sort(Comparator.comparing(l -> l.site().name()));
    return sorted;
  }

  public synchronized Optional<AgentLink> find(SiteId site) {
    return Optional.ofNullable(links.get(site));
  }

  synchronized boolean isOnline(SiteId site) {
    return links.containsKey(site);
  }

  private void notifyListeners() {
    List<Runnable> copy;
    synchronized (this) {
      copy = List.copyOf(listeners);
    }
    copy.forEach(Runnable::run);
  }
}
