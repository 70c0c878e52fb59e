package eu.hanse.agent.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A deterministic made-up language per site: words built from the site's own syllable inventory,
 * mixed with words of a part shared by every site. Sites therefore see different text (non-IID) yet
 * have something in common, which is the setting where federation pays: a model trained on all
 * sites does better on the union of their text than one trained at any single site.
 */
public final class SyntheticLanguage {
  /** Share of words drawn from the part every site shares. */
  static final double SHARED_SHARE = 0.3;

  private static final String CONSONANTS = "bcdfghjklmnprstvwz";
  private static final String VOWELS = "aeiou";
  private static final String[] CLUSTERS = {"sch", "tr", "qu", "gl", "str", "kr", "pl", "th", "ch", "br"};

  private final List<String> ownWords;
  private final List<String> sharedWords;

  private SyntheticLanguage(List<String> ownWords, List<String> sharedWords) {
    this.ownWords = ownWords;
    this.sharedWords = sharedWords;
  }

  /** The language of the site with this name; the same name always gives the same language. */
  public static SyntheticLanguage of(String siteName) {
    return new SyntheticLanguage(words(new Random(seed("site:" + siteName)), 400),
        words(new Random(seed("shared")), 120));
  }

  /** {@code characters} characters of text in this language, the same for the same seed. */
  public String text(int characters, long seed) {
    Random random = new Random(seed);
    StringBuilder text = new StringBuilder(characters + 64);
    while (text.length() < characters) {
      int words = 4 + random.nextInt(9);
      for (int w = 0; w < words; w++) {
        List<String> source = random.nextDouble() < SHARED_SHARE ? sharedWords : ownWords;
        String word = source.get(zipf(random, source.size()));
        if (w == 0) {
          word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
        }
        text.append(word).append(w == words - 1 ? "" : random.nextInt(10) == 0 ? ", " : " ");
      }
      text.append(random.nextInt(5) == 0 ? ".\n" : ". ");
    }
    text.setLength(characters);
    return text.toString();
  }

  /** Tokens of the site's default corpus, split into training and held-out text. */
  public static SiteData siteData(String siteName, int characters) {
    String text = of(siteName).text(characters, seed("text:" + siteName));
    return SiteData.split("synthetic language of " + siteName, Vocabulary.encode(text));
  }

  private static List<String> words(Random random, int count) {
    // Each language keeps a subset of the consonants and clusters, so their letter statistics differ.
    String consonants = subset(random, CONSONANTS, 9);
    String vowels = subset(random, VOWELS, 3);
    List<String> clusters = new ArrayList<>();
    for (String cluster : CLUSTERS) {
      if (random.nextInt(3) == 0) {
        clusters.add(cluster);
      }
    }
    List<String> syllables = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      String onset = !clusters.isEmpty() && random.nextInt(4) == 0
          ? clusters.get(random.nextInt(clusters.size()))
          : String.valueOf(consonants.charAt(random.nextInt(consonants.length())));
      String coda = random.nextInt(3) == 0 ? String.valueOf(consonants.charAt(random.nextInt(consonants.length()))) : "";
      syllables.add(onset + vowels.charAt(random.nextInt(vowels.length())) + coda);
    }
    List<String> words = new ArrayList<>();
    while (words.size() < count) {
      int parts = 1 + random.nextInt(3);
      StringBuilder word = new StringBuilder();
      for (int p = 0; p < parts; p++) {
        word.append(syllables.get(random.nextInt(syllables.size())));
      }
      if (!words.contains(word.toString())) {
        words.add(word.toString());
      }
    }
    return words;
  }

  private static String subset(Random random, String letters, int size) {
    List<Character> pool = new ArrayList<>();
    letters.chars().forEach(c -> pool.add((char) c));
    java.util.Collections.shuffle(pool, random);
    StringBuilder chosen = new StringBuilder();
    pool.subList(0, size).forEach(chosen::append);
    return chosen.toString();
  }

  /** A rank in [0, n) with probability proportional to 1 / (rank + 1): a few words are common. */
  private static int zipf(Random random, int n) {
    double harmonic = Math.log(n) + 0.5772;
    double target = random.nextDouble() * harmonic;
    double sum = 0;
    for (int rank = 0; rank < n; rank++) {
      sum += 1.0 / (rank + 1);
      if (sum >= target) {
        return rank;
      }
    }
    return n - 1;
  }

  static long seed(String label) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(label.getBytes(StandardCharsets.UTF_8));
      return java.nio.ByteBuffer.wrap(digest).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
