package eu.hanse.model;

/** The flat view of values held in memory: one array, or a model's tensors one after another. */
public final class FlatArrays {
  private FlatArrays() {}

  /** Reads and writes {@code values} as a flat model. */
  public static Flat of(float[] values) {
    return new Flat(new float[][] {values});
  }

  /** Reads and writes the model's tensors (shared, not copied) in model order. */
  public static Flat of(ModelState model) {
    float[][] tensors = new float[model.tensorCount()][];
    for (int t = 0; t < tensors.length; t++) {
      tensors[t] = model.data(t);
    }
    return new Flat(tensors);
  }

  /** Arrays read and written as one flat run of elements; a block may span several of them. */
  public static final class Flat implements FlatReader, FlatWriter {
    private final float[][] arrays;
    private final long length;

    private Flat(float[][] arrays) {
      this.arrays = arrays;
      long total = 0;
      for (float[] array : arrays) {
        total += array.length;
      }
      this.length = total;
    }

    @Override
    public long length() {
      return length;
    }

    @Override
    public void read(long offset, float[] into, int count) {
      copy(offset, into, count, true);
    }

    @Override
    public void write(long offset, float[] from, int count) {
      copy(offset, from, count, false);
    }

    private void copy(long offset, float[] block, int count, boolean reading) {
      FlatReader.requireRange(offset, count, length);
      long start = 0;
      int done = 0;
      for (float[] array : arrays) {
        long end = start + array.length;
        if (done < count && offset + done < end) {
          int at = (int) (offset + done - start);
          int n = (int) Math.min(count - done, array.length - at);
          if (reading) {
            System.arraycopy(array, at, block, done, n);
          } else {
            System.arraycopy(block, done, array, at, n);
          }
          done += n;
        }
        start = end;
      }
    }
  }
}
