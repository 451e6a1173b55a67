# Installs frost into a scratch prefix, then configures, builds and runs a small outside project
# that uses find_package(frost CONFIG REQUIRED). Any failing step fails the test.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run_step)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} -S ${FROST_SOURCE_DIR} -B ${WORK_DIR}/frost -G ${GENERATOR}
  -DCMAKE_INSTALL_PREFIX=${prefix} -DFROST_BUILD_TESTS=OFF -DFROST_BUILD_EXAMPLES=OFF
  -DFROST_BUILD_BENCH=OFF -DFROST_BUILD_NEON_TESTS=OFF)
run_step(${CMAKE_COMMAND} --install ${WORK_DIR}/frost)
# CONSUMER_CXX (optional): the compiler of the outside project.
set(consumer_compiler)
if(CONSUMER_CXX)
  set(consumer_compiler -DCMAKE_CXX_COMPILER=${CONSUMER_CXX})
endif()
run_step(${CMAKE_COMMAND} -S ${FROST_SOURCE_DIR}/tests/install/consumer -B ${WORK_DIR}/consumer
  -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release ${consumer_compiler})
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run_step(${WORK_DIR}/consumer/consumer)
