package eu.hanse.model;

/** Helpers for the flat view of a model: all tensors concatenated in model order. */
public final class FlatView {
  private FlatView() {}

  static void requireLength(ModelState model, float[] flat) {
    if (flat.length != model.elementCount()) {
      throw new IllegalArgumentException("flat vector of " + flat.length + " elements for a model of "
          + model.elementCount());
    }
  }

  /** out = a − b over the flat views of two models of the same layout. */
  public static float[] difference(ModelState a, ModelState b) {
    if (!a.sameLayout(b)) {
      throw new IllegalArgumentException("models differ in layout: " + a.specs() + " vs " + b.specs());
    }
    float[] out = new float[Math.toIntExact(a.elementCount())];
    int offset = 0;
    for (int t = 0; t < a.tensorCount(); t++) {
      float[] x = a.data(t);
      float[] y = b.data(t);
      for (int i = 0; i < x.length; i++) {
        out[offset + i] = x[i] - y[i];
      }
      offset += x.length;
    }
    return out;
  }
}
