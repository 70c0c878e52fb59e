package eu.hanse.agent.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VocabularyTest {
  @Test
  void printableAsciiAndNewlineRoundTrip() {
    StringBuilder text = new StringBuilder("\n");
    for (char c = ' '; c <= '~'; c++) {
      text.append(c);
    }
    int[] tokens = Vocabulary.encode(text);
    assertEquals(text.length(), tokens.length);
    StringBuilder decoded = new StringBuilder();
    Set<Integer> distinct = new HashSet<>();
    for (int token : tokens) {
      assertTrue(token > Vocabulary.UNKNOWN && token < Vocabulary.SIZE, "token " + token);
      distinct.add(token);
      decoded.append(Vocabulary.decode(token));
    }
    assertEquals(text.toString(), decoded.toString());
    assertEquals(text.length(), distinct.size(), "every character has its own token");
    assertEquals(Vocabulary.NEWLINE, Vocabulary.encode('\n'));
  }

  @Test
  void everyTokenBesidesUnknownDecodesAndEncodesBack() {
    assertEquals(97, Vocabulary.SIZE);
    for (int token = 1; token < Vocabulary.SIZE; token++) {
      assertEquals(token, Vocabulary.encode(Vocabulary.decode(token)), "token " + token);
    }
  }

  @Test
  void everythingElseIsUnknown() {
    int[] others = {0, '\t', '\r', 0x1f, 0x7f, 0x80, 0xe9, 0x20ac, 0x1f600, -1};
    for (int codePoint : others) {
      assertEquals(Vocabulary.UNKNOWN, Vocabulary.encode(codePoint), "code point " + codePoint);
    }
    // Code point by code point: a character outside the BMP is one unknown token, not two.
    assertArrayEquals(new int[] {Vocabulary.encode('a'), Vocabulary.UNKNOWN, Vocabulary.UNKNOWN, Vocabulary.encode('b')},
        Vocabulary.encode("a\u00e9\uD83D\uDE00b"));
    assertEquals('?', Vocabulary.decode(Vocabulary.UNKNOWN));
    assertEquals('?', Vocabulary.decode(Vocabulary.SIZE));
  }
}
