// Hanse's own CUDA kernels, loaded as PTX through the JCuda driver API (no cuBLAS, no NVRTC: the
// GPU machines carry CUDA 13, JCuda's bindings for those need CUDA 12).
//
// Regenerate the PTX with kernels/src/main/cuda/build-ptx.sh; the PTX is committed, so a machine
// without nvcc still builds. Conventions: float32, row-major, one element per thread for element-wise
// kernels with a grid-stride loop, n as a 32-bit int (callers split larger arrays).

#include <stdint.h>

extern "C" {

// y[i] += w * x[i]
__global__ void hanse_axpy(int n, float w, const float* __restrict__ x, float* __restrict__ y) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    y[i] = fmaf(w, x[i], y[i]);
  }
}

// x[i] *= s
__global__ void hanse_scale(int n, float s, float* __restrict__ x) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    x[i] *= s;
  }
}

// out[i] = a[i] - b[i]
__global__ void hanse_difference(int n, const float* __restrict__ a, const float* __restrict__ b,
                                 float* __restrict__ out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    out[i] = a[i] - b[i];
  }
}

// v = momentum * v + delta; theta -= lr * (delta + momentum * v)
__global__ void hanse_nesterov_step(int n, float lr, float momentum, float* __restrict__ theta,
                                    const float* __restrict__ delta, float* __restrict__ velocity) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    float v = fmaf(momentum, velocity[i], delta[i]);
    velocity[i] = v;
    theta[i] -= lr * fmaf(momentum, v, delta[i]);
  }
}

// AdamW (PyTorch semantics): p -= lr*wd*p; m, v moments; bias corrections c1 = 1 - beta1^t and
// c2 = 1 - beta2^t computed on the host.
__global__ void hanse_adamw(int n, float lr, float beta1, float beta2, float eps, float weight_decay,
                            float c1, float c2, float* __restrict__ p, const float* __restrict__ g,
                            float* __restrict__ m, float* __restrict__ v) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    float param = p[i] - lr * weight_decay * p[i];
    float grad = g[i];
    float mi = fmaf(beta1, m[i], (1.0f - beta1) * grad);
    float vi = fmaf(beta2, v[i], (1.0f - beta2) * grad * grad);
    m[i] = mi;
    v[i] = vi;
    p[i] = param - lr * (mi / c1) / (sqrtf(vi / c2) + eps);
  }
}

// Block-wise int8: one CUDA block per quantization block of block_size (<= 1024) elements.
// scale = max|x| / 127; code = the float quotient x / scale rounded half to even, clamped.
__global__ void hanse_quantize_int8(int n, int block_size, const float* __restrict__ x,
                                    int8_t* __restrict__ q, float* __restrict__ scales) {
  extern __shared__ float largest[];
  int from = blockIdx.x * block_size;
  int to = min(n, from + block_size);
  float mine = 0.0f;
  for (int i = from + threadIdx.x; i < to; i += blockDim.x) {
    mine = fmaxf(mine, fabsf(x[i]));
  }
  largest[threadIdx.x] = mine;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      largest[threadIdx.x] = fmaxf(largest[threadIdx.x], largest[threadIdx.x + stride]);
    }
    __syncthreads();
  }
  float scale = largest[0] / 127.0f;
  if (threadIdx.x == 0) {
    scales[blockIdx.x] = scale;
  }
  for (int i = from + threadIdx.x; i < to; i += blockDim.x) {
    float code = 0.0f;
    if (scale != 0.0f) {
      code = fminf(127.0f, fmaxf(-127.0f, rintf(__fdiv_rn(x[i], scale))));
    }
    q[i] = (int8_t) code;
  }
}

// out[i] = q[i] * scales[i / block_size]
__global__ void hanse_dequantize_int8(int n, int block_size, const int8_t* __restrict__ q,
                                      const float* __restrict__ scales, float* __restrict__ out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    out[i] = (float) q[i] * scales[i / block_size];
  }
}

// C (m x n) = A (m x k) * B (k x n) [+ C], row-major, 32 x 32 tiles in shared memory.
#define HANSE_TILE 32
__global__ void hanse_sgemm_nn(int m, int n, int k, const float* __restrict__ a,
                               const float* __restrict__ b, float* __restrict__ c, int accumulate) {
  __shared__ float as[HANSE_TILE][HANSE_TILE];
  __shared__ float bs[HANSE_TILE][HANSE_TILE + 1];
  int row = blockIdx.y * HANSE_TILE + threadIdx.y;
  int col = blockIdx.x * HANSE_TILE + threadIdx.x;
  float sum = 0.0f;
  for (int t = 0; t < k; t += HANSE_TILE) {
    as[threadIdx.y][threadIdx.x] = (row < m && t + threadIdx.x < k) ? a[row * k + t + threadIdx.x] : 0.0f;
    bs[threadIdx.y][threadIdx.x] = (col < n && t + threadIdx.y < k) ? b[(t + threadIdx.y) * n + col] : 0.0f;
    __syncthreads();
    for (int j = 0; j < HANSE_TILE; j++) {
      sum = fmaf(as[threadIdx.y][j], bs[j][threadIdx.x], sum);
    }
    __syncthreads();
  }
  if (row < m && col < n) {
    c[row * n + col] = accumulate ? c[row * n + col] + sum : sum;
  }
}

}  // extern "C"
