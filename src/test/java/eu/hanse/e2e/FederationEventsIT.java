package eu.hanse.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.PreboundSocketFactoryManager;
import org.apache.kafka.common.test.TestKitNodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The federation's events against a real single-node KRaft broker started inside the test, bound
 * to 127.0.0.1 (the test sources' PreboundSocketFactoryManager sees to that). The broker's ports
 * are bound first, but it starts only after round 1 has committed: the coordinator goes on
 * without it, and the events of round 1 wait and arrive.
 */
class FederationEventsIT extends FederationEventsContract {
  private KafkaClusterTestKit cluster;
  private String bootstrap;

  @BeforeEach
  void bindBroker() throws Exception {
    assertTrue(PreboundSocketFactoryManager.class.getProtectionDomain().getCodeSource().getLocation().toString()
        .contains("test-classes"), "the broker's sockets must come from the loopback-only socket factory");
    cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
        .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
        .setConfigProp("listeners", "EXTERNAL://127.0.0.1:0,CONTROLLER://127.0.0.1:0")
        .setConfigProp("offsets.topic.replication.factor", "1")
        .setConfigProp("transaction.state.log.replication.factor", "1")
        .setConfigProp("transaction.state.log.min.isr", "1")
        .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
        .setConfigProp("share.coordinator.state.topic.min.isr", "1")
        .setConfigProp("group.initial.rebalance.delay.ms", "0")
        .build();
    bootstrap = "127.0.0.1:" + PreboundSocketFactoryManager.lastPort("EXTERNAL");
  }

  @Override
  String bootstrap() {
    return bootstrap;
  }

  @Override
  void brokerUp() throws Exception {
    cluster.format();
    cluster.startup();
    cluster.waitForReadyBrokers();
  }

  @AfterEach
  void stopBroker() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }
}
