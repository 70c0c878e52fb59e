package eu.hanse.security;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A one-method gRPC service built by hand (no protobuf, no stubs) that answers every call with
 * the caller's name as {@link PeerIdentityInterceptor} saw it.
 */
final class WhoAmI {
  static final String SERVICE = "hanse.test.WhoAmI";

  static final MethodDescriptor<String, String> ASK = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Ask"))
      .setRequestMarshaller(new Utf8Marshaller())
      .setResponseMarshaller(new Utf8Marshaller())
      .build();

  private WhoAmI() {}

  /** The service, behind {@link PeerIdentityInterceptor}. */
  static ServerServiceDefinition service() {
    ServerCallHandler<String, String> handler = (call, headers) -> {
      call.request(1);
      return new ServerCall.Listener<>() {
        @Override
        public void onHalfClose() {
          call.sendHeaders(new Metadata());
          call.sendMessage(PeerIdentityInterceptor.current().name());
          call.close(Status.OK, new Metadata());
        }
      };
    };
    return ServerInterceptors.intercept(
        ServerServiceDefinition.builder(SERVICE).addMethod(ASK, handler).build(),
        new PeerIdentityInterceptor());
  }

  /**
   * Makes one call and returns the answer.
   *
   * @throws StatusRuntimeException with the call's status if it failed
   */
  static String ask(Channel channel) throws InterruptedException {
    CompletableFuture<String> answer = new CompletableFuture<>();
    ClientCall<String, String> call =
        channel.newCall(ASK, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS));
    call.start(new ClientCall.Listener<>() {
      private String message;

      @Override
      public void onMessage(String message) {
        this.message = message;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (status.isOk()) {
          answer.complete(message);
        } else {
          answer.completeExceptionally(status.asRuntimeException(trailers));
        }
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage("who am I?");
    call.halfClose();
    try {
      return answer.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (StatusRuntimeException) e.getCause();
    } catch (TimeoutException e) {
      throw new AssertionError("call did not finish despite its deadline", e);
    }
  }

  /** Messages are plain UTF-8 strings; enough to carry a name without protobuf. */
  private static final class Utf8Marshaller implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
