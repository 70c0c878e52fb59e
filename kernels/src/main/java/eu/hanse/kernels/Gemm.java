package eu.hanse.kernels;

import java.util.Arrays;

/**
 * Single-threaded matrix-multiply kernel over a rectangle of C, in i-k-j order so that the
 * innermost loop runs along contiguous rows of op(B) and C, which the JIT vectorizes.
 *
 * <p>Every element of C receives its products in increasing k order, starting from its previous
 * value or zero, whatever the blocking and whichever rectangle a thread computes; results are
 * therefore identical for any split of C across threads.
 */
final class Gemm {
  /** Rows of op(B) per panel; with {@link #WIDTH_BLOCK} sized so a panel stays in L2. */
  static final int DEPTH_BLOCK = 128;

  /** Columns of op(B) and C per panel. */
  static final int WIDTH_BLOCK = 512;

  /** Scratch size {@link #compute} needs when B is transposed. */
  static final int PACK_SIZE = DEPTH_BLOCK * WIDTH_BLOCK;

  private Gemm() {}

  /**
   * Computes rows {@code [i0, i1)} and columns {@code [j0, j1)} of C; see {@link
   * TensorBackend#matmul} for the layouts. {@code pack} holds at least {@link #PACK_SIZE} floats
   * when {@code transB} and is not used otherwise.
   */
  static void compute(
      float[] a,
      boolean transA,
      float[] b,
      boolean transB,
      float[] c,
      int m,
      int n,
      int k,
      boolean accumulate,
      int i0,
      int i1,
      int j0,
      int j1,
      float[] pack) {
    if (!accumulate) {
      for (int i = i0; i < i1; i++) {
        Arrays.fill(c, i * n + j0, i * n + j1, 0f);
      }
    }
    for (int p0 = 0; p0 < k; p0 += DEPTH_BLOCK) {
      int depth = Math.min(DEPTH_BLOCK, k - p0);
      for (int jb = j0; jb < j1; jb += WIDTH_BLOCK) {
        int width = Math.min(WIDTH_BLOCK, j1 - jb);
        if (transB) {
          // B's rows are op(B)'s columns: copy the panel out transposed once and reuse it for
          // every row of C, rather than striding through B in the inner loop.
          packTransposed(b, k, p0, depth, jb, width, pack);
          multiplyPanel(a, transA, m, k, i0, i1, p0, depth, pack, 0, width, c, n, jb, width);
        } else {
          multiplyPanel(a, transA, m, k, i0, i1, p0, depth, b, p0 * n + jb, n, c, n, jb, width);
        }
      }
    }
  }

  /** {@code pack[pp][jj] = opB[p0 + pp][jb + jj] = b[jb + jj][p0 + pp]}, with B stored n x k. */
  private static void packTransposed(
      float[] b, int k, int p0, int depth, int jb, int width, float[] pack) {
    for (int jj = 0; jj < width; jj++) {
      int src = (jb + jj) * k + p0;
      for (int pp = 0; pp < depth; pp++) {
        pack[pp * width + jj] = b[src + pp];
      }
    }
  }

  /**
   * {@code C[i][jb + jj] += sum over pp of opA[i][p0 + pp] * panel[off + pp * ld + jj]} for rows
   * {@code [i0, i1)}, {@code pp < depth}, {@code jj < width}.
   */
  private static void multiplyPanel(
      float[] a,
      boolean transA,
      int m,
      int k,
      int i0,
      int i1,
      int p0,
      int depth,
      float[] panel,
      int off,
      int ld,
      float[] c,
      int n,
      int jb,
      int width) {
    int aStep = transA ? m : 1;
    for (int i = i0; i < i1; i++) {
      int aAt = transA ? p0 * m + i : i * k + p0;
      int cRow = i * n + jb;
      int pp = 0;
      // Four rows of the panel per pass cut C's loads and stores by four. The sum is written
      // left to right, so it rounds exactly like four separate passes.
      for (; pp + 4 <= depth; pp += 4) {
        float a0 = a[aAt + pp * aStep];
        float a1 = a[aAt + (pp + 1) * aStep];
        float a2 = a[aAt + (pp + 2) * aStep];
        float a3 = a[aAt + (pp + 3) * aStep];
        int b0 = off + pp * ld;
        int b1 = b0 + ld;
        int b2 = b1 + ld;
        int b3 = b2 + ld;
        for (int jj = 0; jj < width; jj++) {
          c[cRow + jj] =
              c[cRow + jj]
                  + a0 * panel[b0 + jj]
                  + a1 * panel[b1 + jj]
                  + a2 * panel[b2 + jj]
                  + a3 * panel[b3 + jj];
        }
      }
      for (; pp < depth; pp++) {
        float a0 = a[aAt + pp * aStep];
        int b0 = off + pp * ld;
        for (int jj = 0; jj < width; jj++) {
          c[cRow + jj] += a0 * panel[b0 + jj];
        }
      }
    }
  }
}
