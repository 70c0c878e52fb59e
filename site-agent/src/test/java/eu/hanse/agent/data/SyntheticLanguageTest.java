package eu.hanse.agent.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SyntheticLanguageTest {
  private static final List<String> DEMO_SITES = List.of("jupiter", "leonardo", "marenostrum");
  private static final int CHARACTERS = 20_000;

  @Test
  void sameSiteGivesIdenticalTokens() {
    SiteData first = SyntheticLanguage.siteData("jupiter", CHARACTERS);
    SiteData second = SyntheticLanguage.siteData("jupiter", CHARACTERS);
    assertArrayEquals(first.train(), second.train());
    assertArrayEquals(first.heldOut(), second.heldOut());
    assertEquals(SyntheticLanguage.of("leonardo").text(500, 3), SyntheticLanguage.of("leonardo").text(500, 3));
    assertFalse(SyntheticLanguage.of("leonardo").text(500, 3).equals(SyntheticLanguage.of("leonardo").text(500, 4)),
        "another seed gives other text");
  }

  @Test
  void differentSitesGiveDifferentText() {
    SiteData jupiter = SyntheticLanguage.siteData("jupiter", CHARACTERS);
    SiteData leonardo = SyntheticLanguage.siteData("leonardo", CHARACTERS);
    assertFalse(Arrays.equals(jupiter.train(), leonardo.train()));
    // Even with the same text seed, the languages differ.
    assertFalse(SyntheticLanguage.of("jupiter").text(2000, 1).equals(SyntheticLanguage.of("leonardo").text(2000, 1)));
  }

  @Test
  void demoSitesShareWordsYetEachHasItsOwn() {
    List<Set<String>> words = DEMO_SITES.stream().map(SyntheticLanguageTest::words).toList();
    Set<String> common = new HashSet<>(words.get(0));
    words.forEach(common::retainAll);
    assertTrue(common.size() >= 10, "words all sites share: " + common);
    for (int s = 0; s < DEMO_SITES.size(); s++) {
      Set<String> own = new HashSet<>(words.get(s));
      for (int o = 0; o < DEMO_SITES.size(); o++) {
        if (o != s) {
          own.removeAll(words.get(o));
        }
      }
      assertTrue(own.size() >= 50, DEMO_SITES.get(s) + " has only " + own.size() + " words of its own");
    }
  }

  private static Set<String> words(String site) {
    SiteData data = SyntheticLanguage.siteData(site, CHARACTERS);
    StringBuilder text = new StringBuilder();
    for (int[] part : List.of(data.train(), data.heldOut())) {
      for (int token : part) {
        text.append(Vocabulary.decode(token));
      }
    }
    return Arrays.stream(text.toString().split("[^A-Za-z]+"))
        .filter(word -> !word.isEmpty())
        .map(word -> word.toLowerCase(Locale.ROOT))
        .collect(Collectors.toSet());
  }

  @Test
  void splitKeepsTheLastTenthHeldOut() {
    int[] tokens = new int[1000];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = 2 + i % 95;
    }
    SiteData data = SiteData.split("counting", tokens);
    assertArrayEquals(Arrays.copyOfRange(tokens, 0, 900), data.train());
    assertArrayEquals(Arrays.copyOfRange(tokens, 900, 1000), data.heldOut());
    assertEquals("counting", data.source());

    SiteData site = SyntheticLanguage.siteData("marenostrum", CHARACTERS);
    assertEquals(CHARACTERS / 10, site.heldOut().length);
    assertEquals(CHARACTERS - CHARACTERS / 10, site.train().length);
  }

  @Test
  void everyTokenIsInsideTheVocabulary() {
    for (String site : DEMO_SITES) {
      SiteData data = SyntheticLanguage.siteData(site, CHARACTERS);
      for (int[] part : List.of(data.train(), data.heldOut())) {
        for (int token : part) {
          assertTrue(token > Vocabulary.UNKNOWN && token < Vocabulary.SIZE, site + ": token " + token);
        }
      }
    }
  }
}
