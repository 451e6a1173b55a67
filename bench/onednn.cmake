# Optional: link bench/onednn_gemm.cpp (already a target of the bench/*.cpp glob) against oneDNN
# when it is installed (Debian: libdnnl-dev, see cmake/install-deps.sh --peers). Without it the
# program still builds and reports its benchmarks as skipped.
find_package(dnnl CONFIG QUIET)
if(TARGET onednn_gemm AND dnnl_FOUND)
  target_link_libraries(onednn_gemm PRIVATE DNNL::dnnl)
  target_compile_definitions(onednn_gemm PRIVATE FROST_HAVE_DNNL=1)
  message(STATUS "bench/onednn_gemm: comparing against oneDNN ${dnnl_VERSION}")
elseif(TARGET onednn_gemm)
  message(STATUS "bench/onednn_gemm: oneDNN not found, its benchmarks will report skipped")
endif()
