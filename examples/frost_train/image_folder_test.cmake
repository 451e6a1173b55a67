# cmake -DTRAIN=frost-train -DTO_FOLDER=mnist_to_folder -DWORK_DIR=dir -P image_folder_test.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${TO_FOLDER} --out ${WORK_DIR}/fashion-png --limit 300
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mnist_to_folder failed (${rc}):\n${out}\n${err}")
endif()
# The folder must stay as written: frost-train caches no index in the user's dataset.
file(GLOB_RECURSE before LIST_DIRECTORIES true ${WORK_DIR}/fashion-png/*)
execute_process(COMMAND ${TRAIN} --data ${WORK_DIR}/fashion-png --channels 1 --image-size 28
    --width 0.25 --epochs 2 --fp-epochs 1 --batch-size 32 --max-train-batches 4 --lr 0.01
    --threads 2 --no-checkpoint --save-int8 ${WORK_DIR}/model.int8
    --summary-json ${WORK_DIR}/summary.json
  WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "frost-train on an image folder failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "image folder .*fashion-png \\(28x28, 1 channel\\(s\\)\\): 300 training, 300 test images, 10 classes")
  message(FATAL_ERROR "frost-train did not describe the image folder:\n${out}")
endif()
file(GLOB_RECURSE after LIST_DIRECTORIES true ${WORK_DIR}/fashion-png/*)
if(NOT before STREQUAL after)
  message(FATAL_ERROR "frost-train wrote into the dataset folder")
endif()
file(READ ${WORK_DIR}/summary.json summary)
string(JSON int8 GET "${summary}" int8_accuracy)
if(int8 LESS 0 OR int8 GREATER 100)
  message(FATAL_ERROR "INT8 accuracy ${int8} out of range:\n${summary}")
endif()

# frost-classify on the same test folder: its preprocessing (decode, resize, the normalisation
# stored in the model file) and the class names (the folder names) must give the top-1 accuracy
# frost-train measured on the INT8 model, to the printed digit.
if(CLASSIFY)
  # As text (string(JSON) would give the number back as 8.6699999999999999).
  string(REGEX MATCH "\"int8_accuracy\": ([0-9.]+)" found "${summary}")
  set(int8_accuracy "${CMAKE_MATCH_1}")
  execute_process(COMMAND ${CLASSIFY} ${WORK_DIR}/model.int8 ${WORK_DIR}/fashion-png/test --quiet
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "frost-classify failed (${rc}):\n${out}\n${err}")
  endif()
  string(REGEX MATCH "top-1 accuracy ([0-9.]+)% \\([0-9]+ of 300 images" found "${out}")
  if(NOT found OR NOT CMAKE_MATCH_1 STREQUAL int8_accuracy)
    message(FATAL_ERROR "frost-classify: accuracy '${CMAKE_MATCH_1}', frost-train's INT8 "
                        "accuracy ${int8_accuracy}\n${out}")
  endif()
  # One image in full: five named classes, probabilities, the time.
  file(GLOB_RECURSE some ${WORK_DIR}/fashion-png/test/7_Sneaker/*.png)
  list(GET some 0 image)
  execute_process(COMMAND ${CLASSIFY} ${WORK_DIR}/model.int8 ${image} --top 5
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(class "[0-9]_[A-Za-z_-]+ [0-9.]+%")  # CMake's regex has no {n}
  if(NOT rc EQUAL 0 OR NOT out MATCHES
     "\\.png \\([0-9.]+ ms\\): ${class}, ${class}, ${class}, ${class}, ${class}\n")
    message(FATAL_ERROR "frost-classify on one image (${rc}):\n${out}\n${err}")
  endif()
  # Bad input: a clear message and exit code 1, no crash.
  file(WRITE ${WORK_DIR}/not_an_image.png "not a PNG")
  execute_process(COMMAND ${CLASSIFY} ${WORK_DIR}/model.int8 ${WORK_DIR}/not_an_image.png
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1 OR NOT err MATCHES "not_an_image.png': cannot decode")
    message(FATAL_ERROR "frost-classify on a bad image (${rc}):\n${err}")
  endif()
  execute_process(COMMAND ${CLASSIFY} ${WORK_DIR}/not_an_image.png ${image}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1 OR NOT err MATCHES "engine::load")
    message(FATAL_ERROR "frost-classify with a bad model file (${rc}):\n${err}")
  endif()
endif()
