package eu.hanse.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

/** Calls a coordinator's HTTP console (docs/console.md) with an operator's, a lead's or a viewer's certificate. */
final class ConsoleClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where the console is and whose certificate to call it with. */
  static final class Options {
    @picocli.CommandLine.Option(names = "--console", defaultValue = "127.0.0.1:7445", paramLabel = "HOST:PORT",
        description = "The coordinator's console (its --console; default: ${DEFAULT-VALUE}).")
    String console;

    @picocli.CommandLine.Option(names = "--credential", required = true, paramLabel = "DIR",
        description = "Folder with your ca.crt, node.crt and node.key (from 'hanse ca issue-admin'; a viewer's "
            + "will do).")
    Path credential;

    ConsoleClient client() {
      return new ConsoleClient(console, credential);
    }
  }

  private final String base;
  private final HttpClient http;

  ConsoleClient(String console, Path credential) {
    HostPort address = HostPort.parse(console);
    this.base = "https://" + address.host() + ":" + address.port();
    this.http = HttpClient.newBuilder().sslContext(TlsContexts.forHttpsClient(TlsFiles.in(credential)))
        .connectTimeout(Duration.ofSeconds(20)).build();
  }

  JsonNode get(String path) throws InterruptedException {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  JsonNode post(String path, String json) throws InterruptedException {
    return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  /** What a followed event stream tells. */
  interface StreamListener {
    /** An event, as docs/events.md describes it, with its "seq". */
    void event(JsonNode event);

    /** Any line at all arrived, a keep-alive included: the stream is alive. */
    void heard();

    /** The stream ended: {@code why} is null when it simply closed. */
    void ended(Exception why);
  }

  /** Follows the federation's events after {@code afterSeq} on a thread of its own, until the stream ends. */
  Thread follow(long afterSeq, StreamListener listener) {
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/api/v1/events?after=" + afterSeq)).GET().build();
    return Thread.ofPlatform().daemon().name("hanse-console-events").start(() -> {
      Exception why = null;
      try {
        HttpResponse<java.util.stream.Stream<String>> response = http.send(request,
            HttpResponse.BodyHandlers.ofLines());
        if (response.statusCode() != 200) {
          why = new IllegalStateException("the console refused the event stream (" + response.statusCode() + "): "
              + response.body().collect(java.util.stream.Collectors.joining()));
          return;
        }
        try (java.util.stream.Stream<String> lines = response.body()) {
          for (String line : (Iterable<String>) lines::iterator) {
            listener.heard();
            if (line.startsWith("data: ")) {
              listener.event(JSON.readTree(line.substring(6)));
            }
          }
        }
      } catch (IOException | RuntimeException e) {
        why = e;
      } catch (InterruptedException e) {
        why = e;
        Thread.currentThread().interrupt();
      } finally {
        listener.ended(why);
      }
    });
  }

  private JsonNode send(HttpRequest.Builder request) throws InterruptedException {
    HttpRequest built = request.timeout(Duration.ofMinutes(1)).build();
    try {
      HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
      JsonNode body;
      try {
        body = JSON.readTree(response.body());
      } catch (IOException e) {
        throw new IllegalStateException("the console answered " + built.method() + " " + built.uri().getPath()
            + " with " + response.statusCode() + " and no JSON; is " + base + " a Hanse console?", e);
      }
      if (response.statusCode() != 200) {
        throw new IllegalStateException("the console refused " + built.method() + " " + built.uri().getPath() + " ("
            + response.statusCode() + "): " + body.path("error").asText(response.body()));
      }
      return body;
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach the coordinator's console at " + base + ": " + e.getMessage()
          + " (is it running with --console, and is this its address?)", e);
    }
  }
}
