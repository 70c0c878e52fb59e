package eu.hanse.coordinator;

import eu.hanse.aggregation.AggregatorSpec;
import eu.hanse.aggregation.OuterOptimizerSpec;
import eu.hanse.aggregation.PrivacySpec;
import eu.hanse.coordinator.job.JobId;
import eu.hanse.coordinator.job.JobSpec;
import eu.hanse.coordinator.job.TrainerSettings;
import eu.hanse.model.ModelState;
import eu.hanse.model.TensorSpec;
import eu.hanse.model.UpdateCodec;
import eu.hanse.protocol.v1.TrainTask;
import eu.hanse.protocol.v1.UpdateMessage;
import eu.hanse.security.CertificateAuthority;
import eu.hanse.security.EnrolmentTls;
import eu.hanse.security.IssuedCertificates;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.SigningKey;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A coordinator with its HTTP console on 127.0.0.1, a consortium CA, and for each role a real
 * certificate and an HTTPS client that presents it: "viewer" (vera), "operator" (otto), "lead"
 * (lena) and "site" (alpha's own). Sites alpha and mallory run scripted: alpha honest, mallory
 * sending a NaN in every update, each after {@code beforeTraining} lets it.
 */
final class ConsoleFederation implements AutoCloseable {
  static final int ELEMENTS = 600;

  final Path dataDir;
  final Coordinator coordinator;
  final String base;
  final Map<String, HttpClient> clients = new TreeMap<>();
  final HttpClient anonymous;
  final Map<String, ScriptedAgent> agents = new TreeMap<>();
  final TlsFiles coordinatorTls;

  ConsoleFederation(Path pki, Path dataDir, int rounds, Runnable beforeTraining) throws Exception {
    this.dataDir = dataDir;
    CertificateAuthority ca = CertificateAuthority.create(pki.resolve("ca"), "test consortium", false,
        Clock.systemUTC());
    coordinatorTls = ca.issue(NodeIdentity.coordinator("coordinator"), List.of("127.0.0.1"), Duration.ofDays(1),
        pki.resolve("coordinator"));
    IssuedCertificates ledger = new IssuedCertificates(pki.resolve("ca"));
    Map<String, SigningKey> signing = new TreeMap<>();
    for (String site : List.of("alpha", "mallory")) {
      signing.put(site, SigningKey.generate());
      TlsFiles files = ca.issue(NodeIdentity.site(new SiteId(site)), signing.get(site).publicKey(), List.of(),
          Duration.ofDays(1), pki.resolve(site));
      ledger.record(EnrolmentTls.readCertificate(files.certificate()));
    }
    for (NodeIdentity person : List.of(NodeIdentity.viewer("vera"), NodeIdentity.operator("otto"),
        NodeIdentity.lead("lena"))) {
      TlsFiles files = ca.issue(person, List.of(), Duration.ofDays(1), pki.resolve(person.name()));
      clients.put(person.role().uriLabel(), client(TlsContexts.forHttpsClient(files)));
    }
    clients.put("site", client(TlsContexts.forHttpsClient(TlsFiles.in(pki.resolve("alpha")))));
    anonymous = client(trustOnly(coordinatorTls.caCertificate()));
    Path target = Files.createDirectories(dataDir.resolve("ca"));
    try (var files = Files.list(pki.resolve("ca"))) {
      for (Path file : files.toList()) {
        Files.copy(file, target.resolve(file.getFileName()));
      }
    }
    JobSpec spec = new JobSpec(new JobId("web"), rounds, 5, 1, 2, Duration.ofSeconds(60),
        new TrainerSettings(4, 0.01, 0.0), OuterOptimizerSpec.fedAvg(), 7, 256, AggregatorSpec.mean(),
        PrivacySpec.none(), UpdateCodec.fp32());
    coordinator = new Coordinator(new CoordinatorConfig(dataDir, "127.0.0.1", 0, 0, coordinatorTls,
        Duration.ofSeconds(5), 24), spec, initialModel(), new PrintStream(new ByteArrayOutputStream()));
    coordinator.serveConsole("127.0.0.1", 0);
    coordinator.start();
    base = "https://127.0.0.1:" + coordinator.consolePort();
    Map<String, Function<TrainTask, List<List<UpdateMessage>>>> scripts = Map.of(
        "alpha", task -> {
          beforeTraining.run();
          return List.of(ScriptedAgent.update(task, ELEMENTS, task.getRound(), "alpha", signing.get("alpha"))
              .messages());
        },
        "mallory", task -> {
          beforeTraining.run();
          ScriptedAgent.Update update = ScriptedAgent.update(task, ELEMENTS, 2, "mallory", signing.get("mallory"));
          update.values[7] = Float.NaN;
          return List.of(update.messages());
        });
    scripts.forEach((site, script) -> agents.put(site, new ScriptedAgent(TlsFiles.in(pki.resolve(site)),
        coordinator.port(), script)));
  }

  private static ModelState initialModel() {
    float[] values = new float[ELEMENTS];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) Math.sin(i);
    }
    return new ModelState(List.of(TensorSpec.of("w", ELEMENTS)), List.of(values), Map.of());
  }

  private static HttpClient client(javax.net.ssl.SSLContext tls) {
    return HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build();
  }

  /** A client that trusts the consortium's CA but presents no certificate. */
  private static javax.net.ssl.SSLContext trustOnly(Path caCertificate) throws Exception {
    java.security.KeyStore anchors = java.security.KeyStore.getInstance("PKCS12");
    anchors.load(null, null);
    anchors.setCertificateEntry("ca", EnrolmentTls.readCertificate(caCertificate));
    javax.net.ssl.TrustManagerFactory trust = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
    trust.init(anchors);
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }

  /** GET as {@code role} ("viewer", "operator", "lead", "site"), or without a credential when null. */
  HttpResponse<String> get(String role, String path) throws Exception {
    HttpClient client = role == null ? anonymous : clients.get(role);
    return client.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** POST {@code body} with {@code headers}. */
  HttpResponse<String> post(HttpClient client, String path, String body, Map<String, String> headers)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    agents.values().forEach(ScriptedAgent::close);
    coordinator.close();
  }
}
