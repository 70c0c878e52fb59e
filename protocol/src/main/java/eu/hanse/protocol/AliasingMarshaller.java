package eu.hanse.protocol;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * A request marshaller for messages that carry bulk bytes (update chunks): it reads each message
 * into an array of its own and parses it so that its {@code bytes} fields are views of that array,
 * where gRPC's default marshaller copies every such field once more. {@link #arrayView} then hands
 * the bytes to code that wants an array (SHA-256 runs fastest on one) without a further copy.
 *
 * <p>Each message gets a fresh array, so a parsed message stays valid for as long as it is held.
 */
public final class AliasingMarshaller<T extends MessageLite> implements MethodDescriptor.Marshaller<T> {
  private final MethodDescriptor.Marshaller<T> original;
  private final Parser<T> parser;

  private AliasingMarshaller(MethodDescriptor.Marshaller<T> original, Parser<T> parser) {
    this.original = original;
    this.parser = parser;
  }

  /**
   * {@code service} with the requests of {@code method} parsed by an aliasing marshaller; every
   * other method, and every response, as it was.
   */
  public static <T extends MessageLite> ServerServiceDefinition aliasingRequests(ServerServiceDefinition service,
      MethodDescriptor<T, ?> method, Parser<T> parser) {
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
    for (ServerMethodDefinition<?, ?> definition : service.getMethods()) {
      if (definition.getMethodDescriptor().getFullMethodName().equals(method.getFullMethodName())) {
        builder.addMethod(aliased(definition, parser));
      } else {
        builder.addMethod(definition);
      }
    }
    return builder.build();
  }

  @SuppressWarnings("unchecked")
  private static <T extends MessageLite, R> ServerMethodDefinition<T, R> aliased(ServerMethodDefinition<?, ?> definition,
      Parser<T> parser) {
    ServerMethodDefinition<T, R> typed = (ServerMethodDefinition<T, R>) definition;
    MethodDescriptor<T, R> descriptor = typed.getMethodDescriptor();
    return ServerMethodDefinition.create(descriptor.toBuilder(
            new AliasingMarshaller<>(descriptor.getRequestMarshaller(), parser), descriptor.getResponseMarshaller())
        .build(), typed.getServerCallHandler());
  }

  @Override
  public InputStream stream(T value) {
    return original.stream(value);
  }

  @Override
  public T parse(InputStream stream) {
    try {
      byte[] message = stream instanceof KnownLength ? stream.readNBytes(stream.available()) : stream.readAllBytes();
      CodedInputStream input = UnsafeByteOperations.unsafeWrap(message).newCodedInput();
      input.enableAliasing(true);
      return parser.parseFrom(input);
    } catch (InvalidProtocolBufferException e) {
      throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e).asRuntimeException();
    } catch (IOException e) {
      throw Status.INTERNAL.withDescription("could not read the message").withCause(e).asRuntimeException();
    }
  }

  /**
   * {@code bytes} as a writable heap buffer: a view of its backing array when it has one (as the
   * bytes fields this marshaller parses do), else a copy.
   */
  public static ByteBuffer arrayView(ByteString bytes) {
    ArrayCatcher catcher = new ArrayCatcher();
    try {
      UnsafeByteOperations.unsafeWriteTo(bytes, catcher);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return catcher.view != null ? catcher.view : ByteBuffer.wrap(bytes.toByteArray());
  }

  /** Takes the array of a ByteString made of one; anything else leaves {@link #view} null. */
  private static final class ArrayCatcher extends ByteOutput {
    private ByteBuffer view;
    private boolean written;

    @Override
    public void writeLazy(byte[] value, int offset, int length) {
      view = written ? null : ByteBuffer.wrap(value, offset, length).slice();
      written = true;
    }

    @Override
    public void write(byte value) {
      notOneArray();
    }

    @Override
    public void write(byte[] value, int offset, int length) {
      notOneArray();
    }

    @Override
    public void writeLazy(ByteBuffer value) {
      notOneArray();
    }

    @Override
    public void write(ByteBuffer value) {
      notOneArray();
    }

    private void notOneArray() {
      view = null;
      written = true;
    }
  }
}
