package eu.hanse.kernels;

import java.util.Arrays;

/**
 * Single-threaded matrix-multiply kernels over a rectangle of C.
 *
 * <p>The main path packs a panel of op(B) into separate row arrays and updates a copy of each C
 * row segment, so that the innermost loop reads and writes every array at the same index {@code
 * jj}: HotSpot's auto-vectorizer gives up on loops that index one float array at a loop-variant
 * offset and another at a different one (it cannot rule out that they are the same array), which
 * made the direct i-k-j loop over B and C run at scalar speed. When B is transposed and C has few
 * rows, packing (a transposition) would cost as much as the multiply, so such products are
 * computed as dot products over contiguous rows of B instead.
 *
 * <p>Each element of C receives its products in increasing k order, added one by one to its
 * previous value (or zero) on the main path, or summed from zero and then added on the dot-product
 * path; which path runs depends only on the shapes, so results are identical however C is split
 * across threads.
 */
final class Gemm {
  /** Rows of op(B) per packed panel. */
  static final int DEPTH_BLOCK = 128;

  /** Columns of op(B) and C per packed panel; 128 x 512 floats, 256 KiB, stay in L2. */
  static final int WIDTH_BLOCK = 512;

  /** Below this many rows of C a transposed B is multiplied by dot products, not packed. */
  static final int DOT_ROWS = 8;

  /** Side of the square tiles in which a transposed panel is packed, to keep writes local. */
  private static final int TILE = 16;

  /** Per-thread buffers for {@link #compute}; allocated once per thread and reused. */
  static final class Scratch {
    final float[][] panel = new float[DEPTH_BLOCK][WIDTH_BLOCK];
    final float[] row = new float[WIDTH_BLOCK];
  }

  private Gemm() {}

  /**
   * Computes rows {@code [i0, i1)} and columns {@code [j0, j1)} of C; see {@link
   * TensorBackend#matmul} for the layouts.
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
      Scratch scratch) {
    if (transB && m < DOT_ROWS) {
      dotProducts(a, transA, b, c, m, n, k, accumulate, i0, i1, j0, j1);
      return;
    }
    if (!accumulate) {
      for (int i = i0; i < i1; i++) {
        Arrays.fill(c, i * n + j0, i * n + j1, 0f);
      }
    }
    float[][] panel = scratch.panel;
    float[] row = scratch.row;
    for (int p0 = 0; p0 < k; p0 += DEPTH_BLOCK) {
      int depth = Math.min(DEPTH_BLOCK, k - p0);
      for (int jb = j0; jb < j1; jb += WIDTH_BLOCK) {
        int width = Math.min(WIDTH_BLOCK, j1 - jb);
        if (transB) {
          packTransposed(b, k, p0, depth, jb, width, panel);
        } else {
          for (int pp = 0; pp < depth; pp++) {
            System.arraycopy(b, (p0 + pp) * n + jb, panel[pp], 0, width);
          }
        }
        for (int i = i0; i < i1; i++) {
          int cRow = i * n + jb;
          System.arraycopy(c, cRow, row, 0, width);
          int aAt = transA ? p0 * m + i : i * k + p0;
          multiplyRow(a, aAt, transA ? m : 1, panel, depth, row, width);
          System.arraycopy(row, 0, c, cRow, width);
        }
      }
    }
  }

  /** {@code row[jj] += sum over pp of a[aAt + pp * aStep] * panel[pp][jj]}, pp in order. */
  private static void multiplyRow(
      float[] a, int aAt, int aStep, float[][] panel, int depth, float[] row, int width) {
    int pp = 0;
    // Four panel rows per pass cut the loads and stores of row by four. The sum is written left
    // to right, so it rounds exactly like four separate passes.
    for (; pp + 4 <= depth; pp += 4) {
      float a0 = a[aAt + pp * aStep];
      float a1 = a[aAt + (pp + 1) * aStep];
      float a2 = a[aAt + (pp + 2) * aStep];
      float a3 = a[aAt + (pp + 3) * aStep];
      float[] b0 = panel[pp];
      float[] b1 = panel[pp + 1];
      float[] b2 = panel[pp + 2];
      float[] b3 = panel[pp + 3];
      for (int jj = 0; jj < width; jj++) {
        row[jj] = row[jj] + a0 * b0[jj] + a1 * b1[jj] + a2 * b2[jj] + a3 * b3[jj];
      }
    }
    for (; pp < depth; pp++) {
      float a0 = a[aAt + pp * aStep];
      float[] b0 = panel[pp];
      for (int jj = 0; jj < width; jj++) {
        row[jj] += a0 * b0[jj];
      }
    }
  }

  /** {@code panel[pp][jj] = b[jb + jj][p0 + pp]}, B stored n x k, in tiles to keep writes local. */
  private static void packTransposed(
      float[] b, int k, int p0, int depth, int jb, int width, float[][] panel) {
    for (int jt = 0; jt < width; jt += TILE) {
      int jEnd = Math.min(width, jt + TILE);
      for (int pt = 0; pt < depth; pt += TILE) {
        int pEnd = Math.min(depth, pt + TILE);
        for (int jj = jt; jj < jEnd; jj++) {
          int src = (jb + jj) * k + p0;
          for (int pp = pt; pp < pEnd; pp++) {
            panel[pp][jj] = b[src + pp];
          }
        }
      }
    }
  }

  /**
   * {@code C[i][j] (+)= dot(op(A) row i, B row j)} with B stored n x k, four rows of B per pass so
   * each element of A is loaded once per four products.
   */
  private static void dotProducts(
      float[] a,
      boolean transA,
      float[] b,
      float[] c,
      int m,
      int n,
      int k,
      boolean accumulate,
      int i0,
      int i1,
      int j0,
      int j1) {
    int aStep = transA ? m : 1;
    for (int i = i0; i < i1; i++) {
      int aAt = transA ? i : i * k;
      int cRow = i * n;
      int j = j0;
      for (; j + 4 <= j1; j += 4) {
        int o0 = j * k;
        int o1 = o0 + k;
        int o2 = o1 + k;
        int o3 = o2 + k;
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        for (int p = 0; p < k; p++) {
          float ap = a[aAt + p * aStep];
          s0 += ap * b[o0 + p];
          s1 += ap * b[o1 + p];
          s2 += ap * b[o2 + p];
          s3 += ap * b[o3 + p];
        }
        store(c, cRow + j, s0, accumulate);
        store(c, cRow + j + 1, s1, accumulate);
        store(c, cRow + j + 2, s2, accumulate);
        store(c, cRow + j + 3, s3, accumulate);
      }
      for (; j < j1; j++) {
        int o0 = j * k;
        float s0 = 0f;
        for (int p = 0; p < k; p++) {
          s0 += a[aAt + p * aStep] * b[o0 + p];
        }
        store(c, cRow + j, s0, accumulate);
      }
    }
  }

  private static void store(float[] c, int at, float sum, boolean accumulate) {
    c[at] = accumulate ? c[at] + sum : sum;
  }
}
