package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.Test;

class NodeIdentityTest {
  @Test
  void siteIdentity() {
    NodeIdentity site = NodeIdentity.site(new SiteId("juelich"));
    assertEquals(NodeIdentity.Role.SITE, site.role());
    assertEquals("juelich", site.name());
    assertEquals(new SiteId("juelich"), site.siteId());
    assertEquals("urn:hanse:site:juelich", site.uri());
  }

  @Test
  void coordinatorIdentity() {
    NodeIdentity coordinator = NodeIdentity.coordinator("main");
    assertEquals(NodeIdentity.Role.COORDINATOR, coordinator.role());
    assertEquals("urn:hanse:coordinator:main", coordinator.uri());
    IllegalStateException e = assertThrows(IllegalStateException.class, coordinator::siteId);
    assertTrue(e.getMessage().contains("not a site"), e.getMessage());
  }

  @Test
  void operatorAndLeadIdentitiesRoundTripThroughCertificates() throws Exception {
    NodeIdentity operator = NodeIdentity.operator("alice");
    NodeIdentity lead = NodeIdentity.lead("bob");
    assertEquals(NodeIdentity.Role.OPERATOR, operator.role());
    assertEquals(NodeIdentity.Role.LEAD, lead.role());
    assertEquals("urn:hanse:operator:alice", operator.uri());
    assertEquals("urn:hanse:lead:bob", lead.uri());
    for (NodeIdentity identity : new NodeIdentity[] {operator, lead}) {
      var certificate = TestCertificates.selfSigned(
          new GeneralName(GeneralName.uniformResourceIdentifier, identity.uri()));
      assertEquals(Optional.of(identity), NodeIdentity.fromCertificate(certificate));
      IllegalStateException e = assertThrows(IllegalStateException.class, identity::siteId);
      assertTrue(e.getMessage().contains("not a site"), e.getMessage());
    }
  }

  @Test
  void operatorAndLeadNamesFollowTheNamingRule() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> NodeIdentity.operator("Alice"));
    assertTrue(e.getMessage().contains("operator"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> NodeIdentity.lead("a:b"));
    assertThrows(IllegalArgumentException.class, () -> NodeIdentity.lead(null));
  }

  @Test
  void rejectsInvalidNamesAndMissingRole() {
    assertThrows(IllegalArgumentException.class, () -> NodeIdentity.coordinator("Main"));
    assertThrows(IllegalArgumentException.class, () -> NodeIdentity.coordinator("a:b"));
    assertThrows(NullPointerException.class, () -> new NodeIdentity(null, "main"));
  }

  @Test
  void readsTheIdentityUriAmongOtherNames() throws Exception {
    var certificate = TestCertificates.selfSigned(
        new GeneralName(GeneralName.dNSName, "hpc.example"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "https://hpc.example/"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:hanse:site:cineca"));
    assertEquals(Optional.of(NodeIdentity.site(new SiteId("cineca"))),
        NodeIdentity.fromCertificate(certificate));
  }

  @Test
  void certificateWithoutSansHasNoIdentity() throws Exception {
    assertEquals(Optional.empty(), NodeIdentity.fromCertificate(TestCertificates.selfSigned()));
  }

  @Test
  void certificateWithoutHanseUriHasNoIdentity() throws Exception {
    var certificate = TestCertificates.selfSigned(
        new GeneralName(GeneralName.dNSName, "hpc.example"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "https://hpc.example/"));
    assertEquals(Optional.empty(), NodeIdentity.fromCertificate(certificate));
  }

  @Test
  void twoHanseUrisAreAmbiguous() throws Exception {
    var certificate = TestCertificates.selfSigned(
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:hanse:site:a"),
        new GeneralName(GeneralName.uniformResourceIdentifier, "urn:hanse:coordinator:b"));
    assertEquals(Optional.empty(), NodeIdentity.fromCertificate(certificate));
  }

  @Test
  void malformedHanseUrisHaveNoIdentity() throws Exception {
    for (String uri : new String[] {
        "urn:hanse:site", "urn:hanse:admin:root", "urn:hanse:site:Bad_Name", "urn:hanse:site:"}) {
      var certificate = TestCertificates.selfSigned(
          new GeneralName(GeneralName.uniformResourceIdentifier, uri));
      assertEquals(Optional.empty(), NodeIdentity.fromCertificate(certificate), uri);
    }
  }
}
