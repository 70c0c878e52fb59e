package eu.hanse.coordinator.console;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import eu.hanse.coordinator.consortium.Consortium;
import eu.hanse.coordinator.events.LiveEvents;
import eu.hanse.coordinator.job.JobStatus;
import eu.hanse.coordinator.job.RoundRecord;
import eu.hanse.coordinator.round.JobRun;
import eu.hanse.security.NodeIdentity;
import eu.hanse.security.NodeIdentity.Role;
import eu.hanse.security.SiteId;
import eu.hanse.security.TlsContexts;
import eu.hanse.security.TlsFiles;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.TrustOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's HTTP console (Vert.x, HTTPS with the coordinator's certificate): the JSON API
 * under {@code /api/v1}, the live event stream (server-sent events), {@code /metrics} for
 * Prometheus, and the dashboard. Every request is authenticated: by a client certificate of the
 * consortium (an operator's, a lead's or a viewer's), or by a session such a certificate opened
 * ({@code POST /api/v1/sessions}; browsers log in once with its code and keep it in a cookie).
 * Viewers read everything and change nothing; operators also revoke sites, leads also pause, resume
 * and cancel jobs. {@code docs/console.md} describes every route.
 */
public final class HttpConsole implements AutoCloseable {
  public static final String SESSION_COOKIE = "hanse-session";
  private static final Logger log = LoggerFactory.getLogger(HttpConsole.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<Role> READERS = Set.of(Role.OPERATOR, Role.LEAD, Role.VIEWER);
  private static final long KEEP_ALIVE_MS = 15_000;
  /** The dashboard loads its own script, style and data, and nothing from anywhere else. */
  private static final String CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; "
      + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

  /** The dashboard's files, read once from the class path; they hold no data, so need no credential. */
  private enum DashboardFile {
    INDEX("/", "index.html", "text/html; charset=utf-8"),
    SCRIPT("/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
    STYLE("/dashboard.css", "dashboard.css", "text/css; charset=utf-8");

    final String path;
    final String contentType;
    final io.vertx.core.buffer.Buffer content;

    DashboardFile(String path, String resource, String contentType) {
      this.path = path;
      this.contentType = contentType;
      try (java.io.InputStream in = HttpConsole.class.getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("the dashboard's " + resource + " is missing from the coordinator's jar");
        }
        this.content = io.vertx.core.buffer.Buffer.buffer(in.readAllBytes());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  private final FederationView federation;
  private final Consortium consortium;
  private final ConsoleSessions sessions;
  private final ForbiddenAudits forbiddenAudits = new ForbiddenAudits();
  private final Vertx vertx;
  private final HttpServer server;

  /**
   * Which refusals go to the audit trail: the first of each caller and action in a minute, so that
   * no caller can grow the trail (and the time to check it) without bound by repeating a request.
   */
  private static final class ForbiddenAudits {
    private static final long WINDOW_NANOS = TimeUnit.MINUTES.toNanos(1);
    private final Map<String, Long> last = new java.util.concurrent.ConcurrentHashMap<>();

    boolean shouldAudit(String key) {
      long now = System.nanoTime();
      if (last.size() > 10_000) {
        last.values().removeIf(then -> now - then > WINDOW_NANOS);
      }
      Long before = last.putIfAbsent(key, now);
      if (before == null) {
        return true;
      }
      if (now - before < WINDOW_NANOS) {
        return false;
      }
      return last.replace(key, before, now);
    }
  }

  /**
   * Who made a request, the certificate that vouches for them (theirs, or the one their session
   * came from), and when that credential ends (the certificate's expiry, or the session's).
   */
  record Caller(NodeIdentity identity, X509Certificate certificate, java.time.Instant expires) {}

  private HttpConsole(FederationView federation, Consortium consortium, Vertx vertx, HttpServer server,
      ConsoleSessions sessions) {
    this.federation = federation;
    this.consortium = consortium;
    this.vertx = vertx;
    this.server = server;
    this.sessions = sessions;
  }

  /**
   * Serves the console on {@code host:port} (0 picks a free port).
   *
   * @throws IllegalStateException if it cannot listen there
   */
  public static HttpConsole start(FederationView federation, Consortium consortium, TlsFiles tls, String host, int port) {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(4));
    HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port).setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certificate().toString())
            .setKeyPath(tls.privateKey().toString()))
        .setTrustOptions(TrustOptions.wrap(TlsContexts.consortiumTrust(tls.caCertificate(), consortium::isRevoked)))
        .setClientAuth(ClientAuth.REQUEST);
    HttpServer server = vertx.createHttpServer(options);
    HttpConsole console = new HttpConsole(federation, consortium, vertx, server,
        new ConsoleSessions(java.time.Clock.systemUTC()));
    server.requestHandler(console.routes());
    try {
      server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
      throw new IllegalStateException("the console cannot listen on " + host + ":" + port + ": " + cause.getMessage(),
          cause);
    }
    log.info("console on https://{}:{}/", host, server.actualPort());
    return console;
  }

  /** The port the console listens on. */
  public int port() {
    return server.actualPort();
  }

  private Router routes() {
    Router router = Router.router(vertx);
    router.route().handler(context -> {
      context.response().putHeader("X-Content-Type-Options", "nosniff").putHeader("Cache-Control", "no-store");
      context.next();
    });
    router.post().handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
    reading(router, "/api/v1/whoami", (context, caller) -> json(context, whoami(caller)));
    reading(router, "/api/v1/overview", (context, caller) -> json(context, overview(caller)));
    reading(router, "/api/v1/sites", (context, caller) -> json(context, sites()));
    reading(router, "/api/v1/jobs", (context, caller) -> json(context,
        federation.jobs().stream().map(ConsoleViews::jobSummary).toList()));
    reading(router, "/api/v1/jobs/:job", (context, caller) -> job(context).ifPresent(status -> json(context, status)));
    reading(router, "/api/v1/jobs/:job/rounds", (context, caller) -> job(context)
        .ifPresent(status -> json(context, status.rounds())));
    reading(router, "/api/v1/jobs/:job/rounds/:round", (context, caller) -> job(context).ifPresent(status -> {
      Optional<RoundRecord> round = parseLong(context.pathParam("round"))
          .flatMap(number -> ConsoleViews.round(status, number));
      round.ifPresentOrElse(record -> json(context, record), () -> error(context, 404, "UNKNOWN_ROUND",
          "job " + status.job() + " has no committed round '" + context.pathParam("round") + "'; it has committed "
              + status.roundsCompleted()));
    }));
    reading(router, "/api/v1/jobs/:job/updates", (context, caller) -> job(context)
        .ifPresent(status -> json(context, ConsoleViews.updates(status))));
    reading(router, "/api/v1/jobs/:job/checkpoints", (context, caller) -> job(context)
        .ifPresent(status -> json(context, ConsoleViews.checkpoints(status))));
    reading(router, "/api/v1/audit", (context, caller) -> json(context,
        ConsoleViews.audit(consortium.verifyAudit())));
    reading(router, "/metrics", (context, caller) -> context.response()
        .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(federation.metricsText()));
    reading(router, "/api/v1/events", this::streamEvents);
    changing(router, "/api/v1/sessions", READERS, "open a console session", this::openSession);
    for (String action : List.of("pause", "resume", "cancel")) {
      changing(router, "/api/v1/jobs/:job/" + action, Set.of(Role.LEAD), action + " jobs",
          (context, caller) -> controlJob(context, caller, action));
    }
    changing(router, "/api/v1/sites/:site/revoke", Set.of(Role.OPERATOR), "revoke sites", this::revokeSite);
    router.get("/login").blockingHandler(this::login, false);
    for (DashboardFile file : DashboardFile.values()) {
      router.get(file.path).handler(context -> context.response().putHeader("Content-Type", file.contentType)
          .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY).end(file.content));
    }
    router.route("/api/*").handler(context -> error(context, 404, "NOT_FOUND",
        context.request().method() + " " + context.request().path() + " is not part of the API; see docs/console.md"));
    return router;
  }

  private interface CallerHandler {
    void handle(RoutingContext context, Caller caller) throws Exception;
  }

  /** A GET route any operator, lead or viewer may read, run off the event loop (it may read the database). */
  private void reading(Router router, String path, CallerHandler handler) {
    router.get(path).blockingHandler(context -> authenticated(context)
        .filter(caller -> allowed(context, caller, READERS, "read " + context.request().path()))
        .ifPresent(caller -> run(context, handler, caller)), false);
  }

  /** A POST route for {@code roles}; the body, if any, must be JSON (a browser cannot send that cross-site unasked). */
  private void changing(Router router, String path, Set<Role> roles, String what, CallerHandler handler) {
    router.post(path).blockingHandler(context -> {
      String type = context.request().getHeader("Content-Type");
      if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
        error(context, 415, "MALFORMED", "send the request with Content-Type: application/json (a JSON object, "
            + "{} when there is nothing to say)");
        return;
      }
      authenticated(context).filter(caller -> allowed(context, caller, roles, what))
          .ifPresent(caller -> run(context, handler, caller));
    }, false);
  }

  private static void run(RoutingContext context, CallerHandler handler, Caller caller) {
    try {
      handler.handle(context, caller);
    } catch (IllegalArgumentException e) {
      error(context, 400, "MALFORMED", e.getMessage());
    } catch (Exception e) {
      log.error("console: {} {} failed: {}", context.request().method(), context.request().path(), e.toString(), e);
      error(context, 500, "INTERNAL", "the coordinator could not answer: " + e.getMessage());
    }
  }

  /** Who is asking: a client certificate, or a session; answers 401 and returns empty when neither holds. */
  private Optional<Caller> authenticated(RoutingContext context) {
    X509Certificate certificate = clientCertificate(context.request());
    Caller caller = null;
    if (certificate != null) {
      caller = NodeIdentity.fromCertificate(certificate)
          .map(identity -> new Caller(identity, certificate, certificate.getNotAfter().toInstant())).orElse(null);
      if (caller == null) {
        error(context, 401, "UNAUTHENTICATED", "the client certificate names no Hanse identity");
        return Optional.empty();
      }
    } else {
      Optional<ConsoleSessions.Session> session = sessions.find(sessionToken(context.request()));
      if (session.isEmpty()) {
        error(context, 401, "UNAUTHENTICATED", "present an operator's, a lead's or a viewer's certificate (hanse ca "
            + "issue-admin), or a session it opened: 'hanse admin console-link', or POST /api/v1/sessions");
        return Optional.empty();
      }
      caller = new Caller(session.get().identity(), session.get().certificate(), session.get().expires());
    }
    if (consortium.isRevoked(caller.certificate())) {
      error(context, 401, "REVOKED", caller.identity().uri() + "'s certificate is revoked");
      return Optional.empty();
    }
    return Optional.of(caller);
  }

  private static X509Certificate clientCertificate(HttpServerRequest request) {
    try {
      List<Certificate> chain = request.connection().peerCertificates();
      return chain != null && !chain.isEmpty() && chain.get(0) instanceof X509Certificate leaf ? leaf : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static String sessionToken(HttpServerRequest request) {
    String authorization = request.getHeader("Authorization");
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return authorization.substring(7).trim();
    }
    Cookie cookie = request.getCookie(SESSION_COOKIE);
    return cookie == null ? null : cookie.getValue();
  }

  private boolean allowed(RoutingContext context, Caller caller, Set<Role> roles, String what) {
    if (roles.contains(caller.identity().role())) {
      return true;
    }
    if (forbiddenAudits.shouldAudit(caller.identity().uri() + " " + what)) {
      consortium.audit("admin.forbidden", Map.of("caller", caller.identity().uri(), "action", what));
    }
    error(context, 403, "FORBIDDEN", caller.identity().uri() + " may not " + what + "; that needs the role "
        + roles.stream().map(Role::uriLabel).sorted().toList());
    return false;
  }

  private Map<String, Object> whoami(Caller caller) {
    Map<String, Object> whoami = new LinkedHashMap<>();
    whoami.put("identity", caller.identity().uri());
    whoami.put("role", caller.identity().role().uriLabel());
    whoami.put("mayChange", switch (caller.identity().role()) {
      case OPERATOR -> List.of("revoke sites");
      case LEAD -> List.of("pause, resume and cancel jobs");
      default -> List.of();
    });
    return whoami;
  }

  private Map<String, Object> overview(Caller caller) {
    Map<String, Object> overview = new LinkedHashMap<>();
    overview.put("whoami", whoami(caller));
    overview.put("eventSeq", federation.liveEvents().lastSeq());
    List<JobStatus> jobs = federation.jobs();
    overview.put("sites", federation.siteRows(jobs).stream().map(ConsoleViews::site).toList());
    overview.put("jobs", jobs);
    overview.put("audit", ConsoleViews.audit(consortium.verifyAudit()));
    return overview;
  }

  private List<Map<String, Object>> sites() {
    return federation.siteRows().stream().map(ConsoleViews::site).toList();
  }

  private Optional<JobStatus> job(RoutingContext context) {
    Optional<JobStatus> status = federation.status(context.pathParam("job"));
    if (status.isEmpty()) {
      unknownJob(context);
    }
    return status;
  }

  private void unknownJob(RoutingContext context) {
    error(context, 404, "UNKNOWN_JOB", "no job '" + context.pathParam("job") + "' here; jobs: "
        + federation.jobs().stream().map(JobStatus::job).toList());
  }

  private void controlJob(RoutingContext context, Caller caller, String action) {
    Optional<JobRun> job = federation.job(context.pathParam("job"));
    if (job.isEmpty()) {
      unknownJob(context);
      return;
    }
    String by = caller.identity().uri();
    switch (action) {
      case "pause" -> job.get().pause(by);
      case "resume" -> job.get().resume(by);
      default -> job.get().cancel(by);
    }
    json(context, job.get().status());
  }

  private void revokeSite(RoutingContext context, Caller caller) {
    SiteId site = new SiteId(context.pathParam("site"));
    String reason = body(context).path("reason").asText("");
    List<java.math.BigInteger> serials = federation.revoke(site, reason, caller.identity().uri());
    json(context, Map.of("site", site.name(), "serials", serials.stream().map(serial -> serial.toString(16)).toList()));
  }

  private static JsonNode body(RoutingContext context) {
    String text = context.body() == null ? null : context.body().asString();
    try {
      JsonNode node = JSON.readTree(text == null || text.isBlank() ? "{}" : text);
      if (!node.isObject()) {
        throw new IllegalArgumentException("the request body must be a JSON object");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("the request body is not JSON: " + e.getOriginalMessage());
    }
  }

  /** Opens a session for the certificate's holder; a session cannot open another. */
  private void openSession(RoutingContext context, Caller caller) {
    if (clientCertificate(context.request()) == null) {
      error(context, 403, "FORBIDDEN", "a session is opened with a certificate, not with another session");
      return;
    }
    ConsoleSessions.Granted granted = sessions.open(caller.identity(), caller.certificate());
    consortium.audit("console.session", Map.of("caller", caller.identity().uri(),
        "expires", granted.session().expires().toString()));
    String host = Optional.ofNullable(context.request().authority()).map(Object::toString)
        .orElse("127.0.0.1:" + port());
    Map<String, Object> reply = new LinkedHashMap<>();
    reply.put("identity", caller.identity().uri());
    reply.put("role", caller.identity().role().uriLabel());
    reply.put("token", granted.session().token());
    reply.put("expires", granted.session().expires().toString());
    reply.put("loginUrl", "https://" + host + "/login?code=" + granted.loginCode());
    json(context, reply);
  }

  /** A browser's one visit with a login code: the session goes into a cookie, and the dashboard opens. */
  private void login(RoutingContext context) {
    Optional<ConsoleSessions.Session> session = sessions.redeem(context.request().getParam("code"));
    if (session.isEmpty()) {
      context.response().setStatusCode(401).putHeader("Content-Type", "text/plain; charset=utf-8")
          .end("This login link was used already or has expired (links last "
              + ConsoleSessions.LOGIN_CODE_VALIDITY.toMinutes() + " minutes). Ask for a new one with 'hanse admin "
              + "console-link'.\n");
      return;
    }
    context.response().addCookie(Cookie.cookie(SESSION_COOKIE, session.get().token()).setPath("/").setHttpOnly(true)
            .setSecure(true).setSameSite(CookieSameSite.STRICT).setMaxAge(ConsoleSessions.VALIDITY.toSeconds()))
        .setStatusCode(303).putHeader("Location", "/").end();
  }

  /**
   * Server-sent events: every kept event after Last-Event-ID (or ?after=N), then each new one, until
   * the client goes, or its credential is revoked or ends (checked with each keep-alive). Events are
   * written on the connection's event loop; a watcher that does not keep up is let go rather than
   * buffered for, and reconnects from its last id.
   */
  private void streamEvents(RoutingContext context, Caller caller) {
    long after = parseLong(Optional.ofNullable(context.request().getHeader("Last-Event-ID"))
        .orElse(context.request().getParam("after", "0"))).orElse(0L);
    HttpServerResponse response = context.response();
    io.vertx.core.Context loop = Optional.ofNullable(io.vertx.core.Vertx.currentContext())
        .orElseGet(vertx::getOrCreateContext);
    response.setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
        .putHeader("Cache-Control", "no-store").write(": hanse federation events\n\n");
    LiveEvents events = federation.liveEvents();
    java.util.concurrent.atomic.AtomicLong keepAlive = new java.util.concurrent.atomic.AtomicLong(-1);
    Consumer<LiveEvents.Numbered> subscriber = new Consumer<>() {
      @Override
      public void accept(LiveEvents.Numbered numbered) {
        loop.runOnContext(ignored -> {
          if (response.closed()) {
            events.unsubscribe(this);
          } else if (response.writeQueueFull()) {
            events.unsubscribe(this);
            response.reset();
          } else {
            response.write(sse(numbered));
          }
        });
      }
    };
    Runnable stop = () -> {
      events.unsubscribe(subscriber);
      vertx.cancelTimer(keepAlive.get());
    };
    response.closeHandler(ignored -> stop.run());
    keepAlive.set(vertx.setPeriodic(KEEP_ALIVE_MS, id -> {
      if (response.closed()) {
        stop.run();
      } else if (consortium.isRevoked(caller.certificate()) || !java.time.Instant.now().isBefore(caller.expires())) {
        stop.run();
        response.end(": credential revoked or expired\n\n");
      } else {
        response.write(": keep-alive\n\n");
      }
    }));
    events.subscribe(after, subscriber);
    if (response.closed()) {
      stop.run(); // The client went before the close handler was in place.
    }
  }

  private static String sse(LiveEvents.Numbered numbered) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("seq", numbered.seq());
    data.putAll(numbered.event().asJson());
    return "id: " + numbered.seq() + "\ndata: " + text(data) + "\n\n";
  }

  private static Optional<Long> parseLong(String value) {
    try {
      return Optional.of(Long.parseLong(value.trim()));
    } catch (NumberFormatException | NullPointerException e) {
      return Optional.empty();
    }
  }

  private static void json(RoutingContext context, Object value) {
    context.response().putHeader("Content-Type", "application/json; charset=utf-8").end(text(value));
  }

  static void error(RoutingContext context, int status, String code, String message) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", message);
    body.put("code", code);
    context.response().setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8")
        .end(text(body));
  }

  private static String text(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("console: closing took too long: {}", e.toString());
    }
  }
}
