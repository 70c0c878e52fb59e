package eu.hanse.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import eu.hanse.protocol.v1.FederationGrpc;
import eu.hanse.protocol.v1.UpdateChunk;
import eu.hanse.protocol.v1.UpdateMessage;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AliasingMarshallerTest {
  private static final MethodDescriptor<UpdateMessage, ?> UPLOAD = FederationGrpc.getUploadUpdateMethod();

  private static MethodDescriptor.Marshaller<UpdateMessage> aliasingMarshaller() {
    ServerServiceDefinition service = AliasingMarshaller.aliasingRequests(
        new FederationGrpc.FederationImplBase() { }.bindService(), UPLOAD, UpdateMessage.parser());
    @SuppressWarnings("unchecked")
    ServerMethodDefinition<UpdateMessage, ?> upload =
        (ServerMethodDefinition<UpdateMessage, ?>) service.getMethod(UPLOAD.getFullMethodName());
    return upload.getMethodDescriptor().getRequestMarshaller();
  }

  @Test
  void aChunkParsedByTheUploadsMarshallerIsAViewOfTheMessageNotACopy() throws Exception {
    byte[] data = new byte[1 << 16];
    new Random(3).nextBytes(data);
    UpdateMessage sent = UpdateMessage.newBuilder()
        .setChunk(UpdateChunk.newBuilder().setIndex(7).setData(ByteString.copyFrom(data))).build();
    MethodDescriptor.Marshaller<UpdateMessage> marshaller = aliasingMarshaller();
    assertEquals(AliasingMarshaller.class, marshaller.getClass());

    UpdateMessage parsed = marshaller.parse(marshaller.stream(sent));

    assertEquals(sent, parsed);
    ByteBuffer view = AliasingMarshaller.arrayView(parsed.getChunk().getData());
    assertEquals(sent.getSerializedSize(), view.array().length, "the whole message's array, not a copy of the chunk");
    assertEquals(data.length, view.remaining());
    byte[] read = new byte[data.length];
    view.duplicate().get(read);
    assertArrayEquals(data, read);
    view.put(0, (byte) ~data[0]);
    assertEquals((byte) ~data[0], parsed.getChunk().getData().byteAt(0), "writing the view writes the chunk");
  }

  @Test
  void everyOtherMethodKeepsItsMarshaller() {
    ServerServiceDefinition original = new FederationGrpc.FederationImplBase() { }.bindService();
    ServerServiceDefinition aliased = AliasingMarshaller.aliasingRequests(original, UPLOAD, UpdateMessage.parser());
    assertEquals(original.getMethods().size(), aliased.getMethods().size());
    for (ServerMethodDefinition<?, ?> method : original.getMethods()) {
      String name = method.getMethodDescriptor().getFullMethodName();
      if (!name.equals(UPLOAD.getFullMethodName())) {
        assertSame(method.getMethodDescriptor().getRequestMarshaller(),
            aliased.getMethod(name).getMethodDescriptor().getRequestMarshaller(), name);
      }
    }
  }

  @Test
  void bytesNotMadeOfOneArrayAreCopiedWhole() {
    ByteString rope = ByteString.copyFromUtf8("a chunk made of ").concat(ByteString.copyFromUtf8("two arrays"));
    ByteBuffer view = AliasingMarshaller.arrayView(rope);
    assertEquals("a chunk made of two arrays", new String(view.array(), view.arrayOffset() + view.position(),
        view.remaining(), java.nio.charset.StandardCharsets.UTF_8));
  }

  @Test
  void bytesThatAreNoMessageAreRefusedAsInvalid() {
    InputStream garbage = new ByteArrayInputStream(new byte[] {0x12, 0x7f, 0x01});
    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> aliasingMarshaller().parse(garbage));
    assertEquals(Status.Code.INTERNAL, refused.getStatus().getCode());
  }
}
