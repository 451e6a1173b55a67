# Optional: link the oneDNN comparison programs (bench/onednn_*.cpp, already targets of the
# bench/*.cpp glob) against oneDNN when it is installed (Debian: libdnnl-dev, see
# cmake/install-deps.sh --peers). Without it they still build and report their benchmarks as
# skipped.
find_package(dnnl CONFIG QUIET)
foreach(target onednn_gemm onednn_dwconv)
  if(TARGET ${target} AND dnnl_FOUND)
    target_link_libraries(${target} PRIVATE DNNL::dnnl)
    target_compile_definitions(${target} PRIVATE FROST_HAVE_DNNL=1)
    message(STATUS "bench/${target}: comparing against oneDNN ${dnnl_VERSION}")
  elseif(TARGET ${target})
    message(STATUS "bench/${target}: oneDNN not found, its benchmarks will report skipped")
  endif()
endforeach()
