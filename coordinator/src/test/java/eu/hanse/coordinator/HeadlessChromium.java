package eu.hanse.coordinator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Debian's Chromium, headless, driven over the DevTools protocol on 127.0.0.1: open a page, run
 * JavaScript in it, take screenshots, and collect everything the page reports as an error (console
 * errors, uncaught exceptions, failed loads). Trusts exactly one server key, the coordinator's.
 */
final class HeadlessChromium implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process process;
  private final WebSocket socket;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final List<String> errors = new CopyOnWriteArrayList<>();

  /** Chromium's executable on the PATH, if Debian's chromium package is installed. */
  static Optional<Path> executable() {
    return Stream.of("chromium", "chromium-browser").flatMap(name -> Stream.of(System.getenv("PATH")
        .split(File.pathSeparator)).map(dir -> Path.of(dir, name))).filter(Files::isExecutable).findFirst();
  }

  /** Starts Chromium with a fresh profile in {@code profile}, trusting {@code server}'s key only. */
  static HeadlessChromium start(Path executable, Path profile, X509Certificate server) throws Exception {
    String spki = Base64.getEncoder().encodeToString(
        MessageDigest.getInstance("SHA-256").digest(server.getPublicKey().getEncoded()));
    Process process = new ProcessBuilder(executable.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--user-data-dir=" + profile,
        "--ignore-certificate-errors-spki-list=" + spki, "--window-size=1400,1000", "about:blank")
        .redirectErrorStream(true).redirectOutput(profile.resolveSibling("chromium.log").toFile()).start();
    try {
      Path portFile = profile.resolve("DevToolsActivePort");
      waitUntil(Duration.ofSeconds(60), () -> Files.exists(portFile) && lines(portFile).size() >= 2,
          "Chromium wrote no DevToolsActivePort");
      int port = Integer.parseInt(lines(portFile).get(0).strip());
      HttpClient http = HttpClient.newHttpClient();
      JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
          + "/json/list")).build(), HttpResponse.BodyHandlers.ofString()).body());
      String page = null;
      for (JsonNode target : targets) {
        if (target.get("type").asText().equals("page")) {
          page = target.get("webSocketDebuggerUrl").asText();
        }
      }
      if (page == null) {
        throw new IllegalStateException("Chromium has no page to drive: " + targets);
      }
      return new HeadlessChromium(process, http, URI.create(page));
    } catch (Exception e) {
      process.destroyForcibly();
      throw e;
    }
  }

  private HeadlessChromium(Process process, HttpClient http, URI page) throws Exception {
    this.process = process;
    this.socket = http.newWebSocketBuilder().buildAsync(page, new Listener()).get(30, TimeUnit.SECONDS);
    call("Runtime.enable", Map.of());
    call("Log.enable", Map.of());
    call("Page.enable", Map.of());
  }

  /** Messages arrive in parts; each whole one is a reply to a call or an event. */
  private final class Listener implements WebSocket.Listener {
    private final StringBuilder message = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      message.append(data);
      if (last) {
        received(message.toString());
        message.setLength(0);
      }
      webSocket.request(1);
      return null;
    }
  }

  private void received(String text) {
    try {
      JsonNode message = JSON.readTree(text);
      if (message.has("id")) {
        CompletableFuture<JsonNode> reply = pending.remove(message.get("id").asLong());
        if (reply != null) {
          reply.complete(message);
        }
        return;
      }
      String method = message.path("method").asText();
      JsonNode params = message.path("params");
      switch (method) {
        case "Runtime.consoleAPICalled" -> {
          if (List.of("error", "assert").contains(params.path("type").asText())) {
            errors.add("console." + params.path("type").asText() + ": " + params.path("args"));
          }
        }
        case "Runtime.exceptionThrown" -> errors.add("uncaught: " + params.path("exceptionDetails"));
        case "Log.entryAdded" -> {
          if (params.path("entry").path("level").asText().equals("error")) {
            errors.add("log: " + params.path("entry").path("text").asText() + " "
                + params.path("entry").path("url").asText());
          }
        }
        default -> { }
      }
    } catch (Exception e) {
      errors.add("unreadable DevTools message: " + e);
    }
  }

  /** Calls a DevTools method and returns its result; a protocol error throws. */
  JsonNode call(String method, Map<String, Object> params) throws Exception {
    long id = ids.incrementAndGet();
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    ObjectNode request = JSON.createObjectNode().put("id", id).put("method", method);
    request.set("params", JSON.valueToTree(params));
    socket.sendText(JSON.writeValueAsString(request), true).get(30, TimeUnit.SECONDS);
    JsonNode message = reply.get(60, TimeUnit.SECONDS);
    if (message.has("error")) {
      throw new IllegalStateException(method + ": " + message.get("error"));
    }
    return message.get("result");
  }

  void navigate(String url) throws Exception {
    call("Page.navigate", Map.of("url", url));
  }

  /** The value of a JavaScript expression in the page (awaited if it is a promise). */
  JsonNode evaluate(String expression) throws Exception {
    JsonNode result = call("Runtime.evaluate", Map.of("expression", expression, "returnByValue", true,
        "awaitPromise", true));
    if (result.has("exceptionDetails")) {
      throw new IllegalStateException(expression + " threw: " + result.get("exceptionDetails"));
    }
    return result.path("result").path("value");
  }

  /** Waits until a JavaScript expression is true in the page. */
  void waitFor(String expression, Duration timeout) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (!evaluate("Boolean(" + expression + ")").asBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("the page never came to: " + expression + "; errors: " + errors);
      }
      Thread.sleep(100);
    }
  }

  /** A PNG of the whole page as it is now. */
  byte[] screenshot() throws Exception {
    return Base64.getDecoder().decode(call("Page.captureScreenshot", Map.of("format", "png",
        "captureBeyondViewport", true)).get("data").asText());
  }

  /** Everything the page reported as an error so far. */
  List<String> errors() {
    return new ArrayList<>(errors);
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (java.io.IOException e) {
      return List.of();
    }
  }

  private static void waitUntil(Duration timeout, BooleanSupplier condition, String failure) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new IllegalStateException(failure);
      }
      Thread.sleep(100);
    }
  }

  /** Asks Chromium to quit (so that it reaps its own helper processes), and kills it if it does not. */
  @Override
  public void close() {
    try {
      long id = ids.incrementAndGet();
      socket.sendText("{\"id\":" + id + ",\"method\":\"Browser.close\"}", true).get(10, TimeUnit.SECONDS);
      process.waitFor(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Killed below.
    }
    socket.abort();
    if (process.isAlive()) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }
}
