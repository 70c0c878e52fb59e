package eu.hanse.e2e;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same checks against a Kafka broker in a container, where Docker is available (skipped,
 * and reported as skipped, where it is not). The container's port is published on 127.0.0.1 only.
 */
@Testcontainers(disabledWithoutDocker = true)
class FederationEventsContainerIT extends FederationEventsContract {
  @Container
  static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.1")
      .withCreateContainerCmdModifier(command -> command.getHostConfig().withPortBindings(
          new PortBinding(Ports.Binding.bindIp("127.0.0.1"), ExposedPort.tcp(9092))));

  @Override
  String bootstrap() {
    return KAFKA.getBootstrapServers();
  }

  @Override
  void brokerUp() {
    // Up from the start.
  }
}
