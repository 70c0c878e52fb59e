package eu.hanse.agent.data;

/**
 * The built-in model's fixed character vocabulary, the same at every site: token 0 stands for any
 * character outside it, token 1 is the newline, tokens 2 to 96 are the printable ASCII characters
 * from space to '~'. Fixed, so that every site's model has the same shape without agreeing first.
 */
public final class Vocabulary {
  public static final int SIZE = 97;
  public static final int UNKNOWN = 0;
  public static final int NEWLINE = 1;

  private Vocabulary() {}

  public static int encode(int codePoint) {
    if (codePoint == '\n') {
      return NEWLINE;
    }
    if (codePoint >= ' ' && codePoint <= '~') {
      return codePoint - ' ' + 2;
    }
    return UNKNOWN;
  }

  public static char decode(int token) {
    if (token == NEWLINE) {
      return '\n';
    }
    if (token >= 2 && token < SIZE) {
      return (char) (token - 2 + ' ');
    }
    return '?';
  }

  /** Encodes text, code point by code point; characters outside the vocabulary become UNKNOWN. */
  public static int[] encode(CharSequence text) {
    return text.codePoints().map(Vocabulary::encode).toArray();
  }
}
