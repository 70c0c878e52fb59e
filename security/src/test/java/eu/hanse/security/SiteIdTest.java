package eu.hanse.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SiteIdTest {
  @ParameterizedTest
  @ValueSource(strings = {"a", "juelich", "cineca-2", "x1", "site-"})
  void acceptsNamesThatFollowTheRule(String name) {
    assertEquals(name, new SiteId(name).name());
  }

  @Test
  void acceptsSixtyThreeCharacters() {
    String name = "a" + "b".repeat(62);
    assertEquals(name, new SiteId(name).name());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Juelich", "1site", "-site", "si_te", "si te", "site.eu", "sité"})
  void rejectsNamesThatBreakTheRule(String name) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new SiteId(name));
    assertTrue(e.getMessage().contains("[a-z][a-z0-9-]{0,62}"), e.getMessage());
    assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
  }

  @Test
  void rejectsSixtyFourCharacters() {
    assertThrows(IllegalArgumentException.class, () -> new SiteId("a".repeat(64)));
  }

  @Test
  void rejectsNull() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new SiteId(null));
    assertTrue(e.getMessage().contains("null"), e.getMessage());
  }

  @Test
  void toStringIsTheBareName() {
    assertEquals("juelich", new SiteId("juelich").toString());
  }
}
