package eu.hanse.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class AttackTest {

  @Test
  void eachKindReplacesTheUpdateAsNamed() {
    float[] flipped = {1f, -2f, 0.5f};
    Attack.parse("sign-flip").apply(flipped, 1);
    assertArrayEquals(new float[] {-1f, 2f, -0.5f}, flipped);

    float[] scaled = {1f, -2f};
    Attack.parse("scale:100").apply(scaled, 1);
    assertArrayEquals(new float[] {100f, -200f}, scaled);

    float[] random = {1f, 1f, 1f};
    Attack.parse("random").apply(random, 7);
    float[] again = {1f, 1f, 1f};
    Attack.parse("random").apply(again, 7);
    assertArrayEquals(random, again, "the same seed gives the same noise");
    assertNotEquals(1f, random[0]);

    float[] untouched = {3f};
    Attack.none().apply(untouched, 1);
    assertArrayEquals(new float[] {3f}, untouched);
  }

  @Test
  void unknownKindsAreRefusedNamingTheChoices() {
    for (String bad : new String[] {"flip", "scale:", "scale:x", "scale:Infinity"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Attack.parse(bad));
      assertEquals("unknown attack '" + bad + "': use sign-flip, scale:F or random", e.getMessage());
    }
    assertEquals("scale:100.0", Attack.parse("SCALE:100").describe());
  }
}
