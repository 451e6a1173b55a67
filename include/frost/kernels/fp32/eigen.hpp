#pragma once
// Eigen for the FP32 kernels: row-major maps over raw NCHW buffers. Eigen only multithreads
// its GEMM under OpenMP, which frost does not enable; the kernels parallelise over images,
// groups and tiles on the frost pool instead, so every product here runs on one thread.

// GCC 12 reports -Wuninitialized inside its own AVX-512 intrinsics when Eigen's packet
// transposes are inlined (a known false positive); keep frost's programs warning-clean.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstdint>

namespace frost::kernels::fp32 {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// rows x cols row-major matrix whose rows start `row_stride` elements apart.
template <class T>
using MatrixMap = Eigen::Map<RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T>
inline MatrixMap<T> matrix_map(T* data, std::int64_t rows, std::int64_t cols,
                               std::int64_t row_stride) {
  return MatrixMap<T>(data, rows, cols, Eigen::OuterStride<>(row_stride));
}
template <class T>
inline ConstMatrixMap<T> matrix_map(const T* data, std::int64_t rows, std::int64_t cols,
                                    std::int64_t row_stride) {
  return ConstMatrixMap<T>(data, rows, cols, Eigen::OuterStride<>(row_stride));
}

}  // namespace frost::kernels::fp32
