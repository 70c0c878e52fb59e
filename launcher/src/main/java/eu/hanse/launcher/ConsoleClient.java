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

  private JsonNode send(HttpRequest.Builder request) throws InterruptedException {
    HttpRequest built = request.timeout(Duration.ofMinutes(1)).build();
    try {
      HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
      JsonNode body = JSON.readTree(response.body());
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
