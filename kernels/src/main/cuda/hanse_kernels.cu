// Hanse's own CUDA kernels, loaded as PTX through the JCuda driver API (no cuBLAS, no NVRTC: the
// GPU machines carry CUDA 13, JCuda's bindings for those need CUDA 12).
//
// Regenerate the PTX with kernels/src/main/cuda/build-ptx.sh; the PTX is committed, so a machine
// without nvcc still builds. Conventions: float32, row-major, sizes as 32-bit ints as in the Java
// interface, element indices and products of sizes in 64 bits, grid-stride loops for element-wise
// kernels. Each kernel states the Java operation (eu.hanse.kernels.TensorBackend) it implements;
// where the Java CPU backend fixes an order of float operations the kernel follows it. The PTX is
// built with -fmad=false, so that a * b + c rounds twice as in Java; only an explicit fmaf (the
// matrix multiply) fuses.

#include <stdint.h>

#define HANSE_FOR_EACH(i, n) \
  for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (long long) blockDim.x * gridDim.x)

extern "C" {

// ---- Element-wise -------------------------------------------------------------------------------

// axpy: y[i] += w * x[i]
__global__ void hanse_axpy(int n, float w, const float* __restrict__ x, float* __restrict__ y) {
  HANSE_FOR_EACH(i, n) { y[i] += w * x[i]; }
}

// scale: x[i] *= s
__global__ void hanse_scale(int n, float s, float* __restrict__ x) {
  HANSE_FOR_EACH(i, n) { x[i] *= s; }
}

// difference: out[i] = a[i] - b[i] (out may be a or b)
__global__ void hanse_difference(int n, const float* a, const float* b, float* out) {
  HANSE_FOR_EACH(i, n) { out[i] = a[i] - b[i]; }
}

// tanhForward: y[i] = tanh(x[i]) (y may be x)
__global__ void hanse_tanh_forward(int n, const float* x, float* y) {
  HANSE_FOR_EACH(i, n) { y[i] = tanhf(x[i]); }
}

// tanhBackward: dx[i] = dy[i] * (1 - y[i]^2) (dx may be y or dy)
__global__ void hanse_tanh_backward(int n, const float* y, const float* dy, float* dx) {
  HANSE_FOR_EACH(i, n) {
    float yi = y[i];
    dx[i] = dy[i] * (1.0f - yi * yi);
  }
}

// addRowBias: x[r][c] += bias[c]
__global__ void hanse_add_row_bias(int rows, int cols, float* __restrict__ x,
                                   const float* __restrict__ bias) {
  HANSE_FOR_EACH(i, (long long) rows * cols) { x[i] += bias[i % cols]; }
}

// sumRows: out[c] (+)= sum over r of x[r][c], one thread per column, in row order as on the CPU.
__global__ void hanse_sum_rows(int rows, int cols, const float* __restrict__ x,
                               float* __restrict__ out, int accumulate) {
  HANSE_FOR_EACH(c, cols) {
    float sum = accumulate ? out[c] : 0.0f;
    for (long long r = 0; r < rows; r++) {
      sum += x[r * cols + c];
    }
    out[c] = sum;
  }
}

// nesterovStep: v = momentum * v + delta; theta -= lr * (delta + momentum * v)
__global__ void hanse_nesterov_step(int n, float lr, float momentum, float* __restrict__ theta,
                                    const float* __restrict__ delta, float* __restrict__ velocity) {
  HANSE_FOR_EACH(i, n) {
    float d = delta[i];
    float v = momentum * velocity[i] + d;
    velocity[i] = v;
    theta[i] -= lr * (d + momentum * v);
  }
}

// adamW (and adamStep with decay 1): the CPU backend's formula, with its per-step constants
// computed on the host in double: decay = 1 - lr * wd, step_size = lr / (1 - beta1^t),
// root_correction2 = 1 / sqrt(1 - beta2^t).
__global__ void hanse_adamw(int n, float beta1, float beta2, float one_minus_beta1,
                            float one_minus_beta2, float decay, float step_size,
                            float root_correction2, float eps, float* __restrict__ p,
                            const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v) {
  HANSE_FOR_EACH(i, n) {
    float grad = g[i];
    float mi = beta1 * m[i] + one_minus_beta1 * grad;
    float vi = beta2 * v[i] + one_minus_beta2 * grad * grad;
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) * root_correction2 + eps;
    p[i] = p[i] * decay - step_size * mi / denom;
  }
}

// ---- Embeddings ---------------------------------------------------------------------------------

// gatherRows: out[i][d] = table[indices[i]][d]
__global__ void hanse_gather_rows(int count, int dim, const float* __restrict__ table,
                                  const int* __restrict__ indices, float* __restrict__ out) {
  HANSE_FOR_EACH(e, (long long) count * dim) {
    long long i = e / dim;
    out[e] = table[(long long) indices[i] * dim + e % dim];
  }
}

// scatterAddRows: tableGrad[indices[i]][d] += rowsGrad[i][d], one thread per column d, rows in
// order of i as on the CPU, so repeated indices accumulate deterministically.
__global__ void hanse_scatter_add_rows(int count, int dim, const float* __restrict__ rows_grad,
                                       const int* __restrict__ indices,
                                       float* __restrict__ table_grad) {
  HANSE_FOR_EACH(d, dim) {
    for (long long i = 0; i < count; i++) {
      table_grad[(long long) indices[i] * dim + d] += rows_grad[i * dim + d];
    }
  }
}

// ---- Reductions ---------------------------------------------------------------------------------

// Sums a double across the block (blockDim.x a power of two, at most 1024) into scratch[0].
__device__ double hanse_block_sum(double value, double* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      scratch[threadIdx.x] += scratch[threadIdx.x + stride];
    }
    __syncthreads();
  }
  return scratch[0];
}

// The largest float across the block into scratch[0]; fmaxf drops NaN, callers test for it apart.
__device__ float hanse_block_max(float value, float* scratch) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      scratch[threadIdx.x] = fmaxf(scratch[threadIdx.x], scratch[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  return scratch[0];
}

// dot: partials[block] = sum over the block's elements of (double) a[i] * b[i]; the host adds the
// partials. Dynamic shared memory: blockDim.x doubles.
__global__ void hanse_dot(int n, const float* __restrict__ a, const float* __restrict__ b,
                          double* __restrict__ partials) {
  extern __shared__ double sums[];
  double sum = 0.0;
  HANSE_FOR_EACH(i, n) { sum += (double) a[i] * (double) b[i]; }
  double total = hanse_block_sum(sum, sums);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = total;
  }
}

// allFinite: *bad = 1 when any element is NaN or infinite.
__global__ void hanse_any_non_finite(int n, const float* __restrict__ x, int* __restrict__ bad) {
  HANSE_FOR_EACH(i, n) {
    if (!isfinite(x[i])) {
      *bad = 1;
    }
  }
}

// softmaxCrossEntropy: one block per row. loss[r] = log(sum exp(l - max)) - (l[target] - max), in
// double; when grad is non-null grad[r][c] = (softmax - onehot) * grad_scale, as on the CPU.
// grad may be logits: every logit of the row is read before the row's gradient is written.
// Dynamic shared memory: blockDim.x doubles.
__global__ void hanse_softmax_xent(int rows, int classes, const float* logits,
                                   const int* __restrict__ targets, float* grad, float grad_scale,
                                   double* __restrict__ loss) {
  extern __shared__ double shared[];
  float* largest = (float*) shared;
  long long base = (long long) blockIdx.x * classes;
  float mine = -INFINITY;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) {
    mine = fmaxf(mine, logits[base + c]);
  }
  float max = hanse_block_max(mine, largest);
  __syncthreads();
  double partial = 0.0;
  for (int c = threadIdx.x; c < classes; c += blockDim.x) {
    partial += exp((double) logits[base + c] - max);
  }
  double sum = hanse_block_sum(partial, shared);
  int target = targets[blockIdx.x];
  double shifted_target = (double) logits[base + target] - max;
  __syncthreads();
  if (grad != 0) {
    double scale_over_sum = grad_scale / sum;
    for (int c = threadIdx.x; c < classes; c += blockDim.x) {
      double e = exp((double) logits[base + c] - max);
      float g = c == target ? (float) ((exp(shifted_target) / sum - 1.0) * grad_scale)
                            : (float) ((double) (float) e * scale_over_sum);
      grad[base + c] = g;
    }
  }
  if (threadIdx.x == 0) {
    loss[blockIdx.x] = log(sum) - shifted_target;
  }
}

// ---- Quantization -------------------------------------------------------------------------------

// The code of one value: the float quotient rounded to nearest, halves to even, clamped.
__device__ float hanse_code(float x, float scale, float limit) {
  return scale == 0.0f ? 0.0f : fminf(limit, fmaxf(-limit, rintf(__fdiv_rn(x, scale))));
}

// The block's max |x| over [from, to) divided by levels (blockDim.x a power of two).
__device__ float hanse_block_scale(const float* x, long long from, long long to, float levels,
                                   float* scratch) {
  float mine = 0.0f;
  for (long long i = from + threadIdx.x; i < to; i += blockDim.x) {
    mine = fmaxf(mine, fabsf(x[i]));
  }
  float scale = __fdiv_rn(hanse_block_max(mine, scratch), levels);
  __syncthreads();
  return scale;
}

// quantizeInt8: one CUDA block per quantization block. Dynamic shared memory: blockDim.x floats.
__global__ void hanse_quantize_int8(int n, int block_size, const float* __restrict__ x,
                                    int8_t* __restrict__ q, float* __restrict__ scales) {
  extern __shared__ float largest[];
  long long from = (long long) blockIdx.x * block_size;
  long long to = min((long long) n, from + block_size);
  float scale = hanse_block_scale(x, from, to, 127.0f, largest);
  if (threadIdx.x == 0) {
    scales[blockIdx.x] = scale;
  }
  for (long long i = from + threadIdx.x; i < to; i += blockDim.x) {
    q[i] = (int8_t) hanse_code(x[i], scale, 127.0f);
  }
}

// dequantizeInt8: out[i] = q[i] * scales[i / block_size]
__global__ void hanse_dequantize_int8(int n, int block_size, const int8_t* __restrict__ q,
                                      const float* __restrict__ scales, float* __restrict__ out) {
  HANSE_FOR_EACH(i, n) { out[i] = (float) q[i] * scales[i / block_size]; }
}

// quantizeInt4: as int8 with 7 levels, codes + 8 packed two per byte (even element low nibble);
// block_size is even, so a byte never spans two blocks. An odd n leaves 8 in the last high nibble.
__global__ void hanse_quantize_int4(int n, int block_size, const float* __restrict__ x,
                                    uint8_t* __restrict__ packed, float* __restrict__ scales) {
  extern __shared__ float largest[];
  long long from = (long long) blockIdx.x * block_size;
  long long to = min((long long) n, from + block_size);
  float scale = hanse_block_scale(x, from, to, 7.0f, largest);
  if (threadIdx.x == 0) {
    scales[blockIdx.x] = scale;
  }
  for (long long i = from + 2 * threadIdx.x; i < to; i += 2 * blockDim.x) {
    int lo = (int) hanse_code(x[i], scale, 7.0f) + 8;
    int hi = i + 1 < to ? (int) hanse_code(x[i + 1], scale, 7.0f) + 8 : 8;
    packed[i / 2] = (uint8_t) (lo | hi << 4);
  }
}

// dequantizeInt4: out[i] = (nibble(i) - 8) * scales[i / block_size]
__global__ void hanse_dequantize_int4(int n, int block_size, const uint8_t* __restrict__ packed,
                                      const float* __restrict__ scales, float* __restrict__ out) {
  HANSE_FOR_EACH(i, n) {
    int nibble = (packed[i / 2] >> ((i & 1) * 4)) & 15;
    out[i] = (float) (nibble - 8) * scales[i / block_size];
  }
}

// ---- Order statistics ---------------------------------------------------------------------------

// |x| as a key ordered like the magnitudes, as on the CPU: -0 equals +0, NaN ranks above infinity.
__device__ unsigned hanse_magnitude_key(float x) {
  return isnan(x) ? 0x7fc00000u : (__float_as_uint(x) & 0x7fffffffu);
}

// topK, step 1: histogram[digit] counts the elements whose key matches prefix under prefix_mask,
// by the 8-bit digit at shift. The host walks the digits from the top to find the k-th key.
__global__ void hanse_topk_histogram(int n, const float* __restrict__ x, unsigned prefix,
                                     unsigned prefix_mask, int shift,
                                     unsigned* __restrict__ histogram) {
  __shared__ unsigned local[256];
  for (int d = threadIdx.x; d < 256; d += blockDim.x) {
    local[d] = 0;
  }
  __syncthreads();
  HANSE_FOR_EACH(i, n) {
    unsigned key = hanse_magnitude_key(x[i]);
    if ((key & prefix_mask) == prefix) {
      atomicAdd(&local[(key >> shift) & 255u], 1u);
    }
  }
  __syncthreads();
  for (int d = threadIdx.x; d < 256; d += blockDim.x) {
    if (local[d] != 0) {
      atomicAdd(&histogram[d], local[d]);
    }
  }
}

// topK, step 2: per chunk of chunk_size elements, how many keys exceed the threshold and how many
// equal it. One block per chunk.
__global__ void hanse_topk_count(int n, int chunk_size, const float* __restrict__ x,
                                 unsigned threshold, int* __restrict__ greater,
                                 int* __restrict__ equal) {
  __shared__ int counts[2];
  if (threadIdx.x == 0) {
    counts[0] = 0;
    counts[1] = 0;
  }
  __syncthreads();
  long long from = (long long) blockIdx.x * chunk_size;
  long long to = min((long long) n, from + chunk_size);
  int above = 0;
  int same = 0;
  for (long long i = from + threadIdx.x; i < to; i += blockDim.x) {
    unsigned key = hanse_magnitude_key(x[i]);
    above += key > threshold;
    same += key == threshold;
  }
  atomicAdd(&counts[0], above);
  atomicAdd(&counts[1], same);
  __syncthreads();
  if (threadIdx.x == 0) {
    greater[blockIdx.x] = counts[0];
    equal[blockIdx.x] = counts[1];
  }
}

// Exclusive prefix sum of flag across the block into scratch (blockDim.x ints, a power of two);
// returns this thread's offset and leaves the block's total in *total.
__device__ int hanse_block_exclusive_scan(int flag, int* scratch, int* total) {
  scratch[threadIdx.x] = flag;
  __syncthreads();
  for (int stride = 1; stride < blockDim.x; stride <<= 1) {
    int add = threadIdx.x >= stride ? scratch[threadIdx.x - stride] : 0;
    __syncthreads();
    scratch[threadIdx.x] += add;
    __syncthreads();
  }
  int inclusive = scratch[threadIdx.x];
  *total = scratch[blockDim.x - 1];
  __syncthreads();
  return inclusive - flag;
}

// topK, step 3: each chunk writes, in ascending index order from offsets[chunk], its indices whose
// key exceeds the threshold and the first take_equal[chunk] of those equal to it.
// Dynamic shared memory: blockDim.x ints.
__global__ void hanse_topk_write(int n, int chunk_size, const float* __restrict__ x,
                                 unsigned threshold, const int* __restrict__ offsets,
                                 const int* __restrict__ take_equal, int* __restrict__ indices) {
  extern __shared__ int scan[];
  long long from = (long long) blockIdx.x * chunk_size;
  long long to = min((long long) n, from + chunk_size);
  int written = offsets[blockIdx.x];
  int equal_seen = 0;
  int allowed = take_equal[blockIdx.x];
  for (long long tile = from; tile < to; tile += blockDim.x) {
    long long i = tile + threadIdx.x;
    unsigned key = i < to ? hanse_magnitude_key(x[i]) : 0u;
    int is_equal = i < to && key == threshold;
    int equal_total;
    int equal_rank = equal_seen + hanse_block_exclusive_scan(is_equal, scan, &equal_total);
    int selected = i < to && (key > threshold || (is_equal && equal_rank < allowed));
    int selected_total;
    int at = hanse_block_exclusive_scan(selected, scan, &selected_total);
    if (selected) {
      indices[written + at] = (int) i;
    }
    written += selected_total;
    equal_seen += equal_total;
  }
}

// A float as an unsigned key ordered as Java's Arrays.sort orders floats: -0 before +0, every NaN
// (one canonical NaN) above +infinity.
__device__ unsigned hanse_sort_key(float x) {
  if (isnan(x)) {
    return 0xffffffffu;
  }
  unsigned bits = __float_as_uint(x);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

#define HANSE_SORTED_INPUTS 64

// median (trim < 0) and trimmedMean (trim >= 0) across count inputs laid out as count rows of n:
// median takes the one or two middle values (their mean in double), the trimmed mean sums in
// double the values ranked in [trim, count - trim). Up to HANSE_SORTED_INPUTS inputs each thread
// sorts its element's values and sums them in ascending order, as the CPU does; beyond that it
// ranks them stably without storage and sums in input order (a difference of double rounding).
// The median's sum starts at -0, so that a middle value of -0 stays -0 as on the CPU.
__global__ void hanse_order_statistic(int count, int n, int trim, const float* __restrict__ inputs,
                                      float* __restrict__ out) {
  HANSE_FOR_EACH(i, n) {
    int low = trim < 0 ? (count - 1) / 2 : trim;
    int high = trim < 0 ? count / 2 : count - 1 - trim;
    double sum = trim < 0 ? -0.0 : 0.0;
    if (count <= HANSE_SORTED_INPUTS) {
      float sorted[HANSE_SORTED_INPUTS];
      for (int j = 0; j < count; j++) {
        float value = inputs[(long long) j * n + i];
        unsigned key = hanse_sort_key(value);
        int at = j;
        while (at > 0 && hanse_sort_key(sorted[at - 1]) > key) {
          sorted[at] = sorted[at - 1];
          at--;
        }
        sorted[at] = value;
      }
      for (int r = low; r <= high; r++) {
        sum += (double) sorted[r];
      }
      out[i] = (float) (sum / (high - low + 1));
      continue;
    }
    for (int j = 0; j < count; j++) {
      float value = inputs[(long long) j * n + i];
      unsigned key = hanse_sort_key(value);
      int rank = 0;
      for (int other = 0; other < count; other++) {
        unsigned other_key = hanse_sort_key(inputs[(long long) other * n + i]);
        rank += other_key < key || (other_key == key && other < j);
      }
      if (rank >= low && rank <= high) {
        sum += (double) value;
      }
    }
    out[i] = (float) (sum / (high - low + 1));
  }
}

// ---- Matrix multiply ----------------------------------------------------------------------------

// C (m x n) = op(A) (m x k) * op(B) (k x n), or C += when accumulate. A is stored m x k, or k x m
// when trans_a; B is stored k x n, or n x k when trans_b. 64 x 64 tiles of C per block of 256
// threads, each thread computing 4 x 4 of them from 16-deep slices of A and B staged in shared
// memory; out-of-range elements load as 0. Row tiles are grid-strided over blockIdx.y, whose grid
// dimension is limited to 65535.
#define HANSE_TM 64
#define HANSE_TN 64
#define HANSE_TK 16
__global__ void hanse_sgemm(int m, int n, int k, const float* __restrict__ a, int trans_a,
                            const float* __restrict__ b, int trans_b, float* __restrict__ c,
                            int accumulate) {
  __shared__ float as[HANSE_TK][HANSE_TM + 4];
  __shared__ float bs[HANSE_TK][HANSE_TN + 4];
  int tid = threadIdx.x;
  int col0 = blockIdx.x * HANSE_TN;
  for (long long tile = blockIdx.y; tile * HANSE_TM < m; tile += gridDim.y) {
    int row0 = (int) (tile * HANSE_TM);
    int ty = tid / 16;
    int tx = tid % 16;
    float acc[4][4] = {{0.0f}};
    for (int t = 0; t < k; t += HANSE_TK) {
      // 64 x 16 of A and 16 x 64 of B: 1024 elements each, four per thread.
      for (int e = tid; e < HANSE_TM * HANSE_TK; e += 256) {
        int r, kk;
        if (trans_a) {  // consecutive threads walk along a stored row of A: along m
          r = e % HANSE_TM;
          kk = e / HANSE_TM;
        } else {        // along k
          kk = e % HANSE_TK;
          r = e / HANSE_TK;
        }
        int gr = row0 + r;
        int gk = t + kk;
        float value = 0.0f;
        if (gr < m && gk < k) {
          value = trans_a ? a[(long long) gk * m + gr] : a[(long long) gr * k + gk];
        }
        as[kk][r] = value;
      }
      for (int e = tid; e < HANSE_TN * HANSE_TK; e += 256) {
        int col, kk;
        if (trans_b) {  // along k
          kk = e % HANSE_TK;
          col = e / HANSE_TK;
        } else {        // along n
          col = e % HANSE_TN;
          kk = e / HANSE_TN;
        }
        int gc = col0 + col;
        int gk = t + kk;
        float value = 0.0f;
        if (gc < n && gk < k) {
          value = trans_b ? b[(long long) gc * k + gk] : b[(long long) gk * n + gc];
        }
        bs[kk][col] = value;
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < HANSE_TK; kk++) {
        float av[4];
        float bv[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
          av[i] = as[kk][ty + 16 * i];
          bv[i] = bs[kk][tx + 16 * i];
        }
#pragma unroll
        for (int i = 0; i < 4; i++) {
#pragma unroll
          for (int j = 0; j < 4; j++) {
            acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
          }
        }
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
      int row = row0 + ty + 16 * i;
#pragma unroll
      for (int j = 0; j < 4; j++) {
        int col = col0 + tx + 16 * j;
        if (row < m && col < n) {
          long long at = (long long) row * n + col;
          c[at] = accumulate ? c[at] + acc[i][j] : acc[i][j];
        }
      }
    }
  }  // row tiles
}

}  // extern "C"
