# cmake -DTRAIN=frost-train -DWORK_DIR=dir -P resume_test.cmake
#
# Trains a tiny FrostNet on Fashion-MNIST (2 float epochs, then 2 QAT epochs, 3 batches each)
# once straight through, then stopped after each of epochs 1-3 and resumed; every resumed run
# must save the same final state dict, byte for byte. Then checks that a checkpoint of another
# run, or none, gives a clear error.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(common --width 0.25 --epochs 4 --fp-epochs 2 --batch-size 32 --max-train-batches 3
    --max-test-batches 1 --lr 0.01 --warmup-epochs 0.5 --threads 2 --seed 3 --save-int8 ${WORK_DIR}/model.int8)

function(train expect_rc log)
  execute_process(COMMAND ${TRAIN} ${common} ${ARGN}
    WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(WRITE ${WORK_DIR}/${log}.log "${out}\n${err}")
  if(NOT rc EQUAL expect_rc)
    message(FATAL_ERROR "frost-train ${ARGN}: exit code ${rc}, expected ${expect_rc}\n${out}\n${err}")
  endif()
  set(last_stderr "${err}" PARENT_SCOPE)
  set(last_stdout "${out}" PARENT_SCOPE)
endfunction()

train(0 reference --checkpoint ${WORK_DIR}/reference.ckpt --save-model ${WORK_DIR}/reference.safetensors)
foreach(k 1 2 3)
  train(0 stop${k} --checkpoint ${WORK_DIR}/run${k}.ckpt --stop-after-epoch ${k})
  if(NOT last_stdout MATCHES "stopped after epoch ${k}")
    message(FATAL_ERROR "run stopped after epoch ${k} did not say so:\n${last_stdout}")
  endif()
  train(0 resume${k} --checkpoint ${WORK_DIR}/run${k}.ckpt --resume
        --save-model ${WORK_DIR}/resumed${k}.safetensors)
  if(NOT last_stdout MATCHES "resumed from .* after epoch ${k}")
    message(FATAL_ERROR "resumed run did not start after epoch ${k}:\n${last_stdout}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
    ${WORK_DIR}/reference.safetensors ${WORK_DIR}/resumed${k}.safetensors RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "stopped after epoch ${k} and resumed: the final weights differ from the "
                        "uninterrupted run's")
  endif()
endforeach()

train(1 other_model --checkpoint ${WORK_DIR}/run1.ckpt --resume --model frostnet-base)
if(NOT last_stderr MATCHES "is from another run: --model frostnet-small there, frostnet-base here")
  message(FATAL_ERROR "another model's checkpoint: unclear message\n${last_stderr}")
endif()
train(1 missing --checkpoint ${WORK_DIR}/none.ckpt --resume)
if(NOT last_stderr MATCHES "no checkpoint at")
  message(FATAL_ERROR "missing checkpoint: unclear message\n${last_stderr}")
endif()
