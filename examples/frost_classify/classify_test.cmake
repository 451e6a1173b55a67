# cmake -DCLASSIFY=frost-classify -DMAKE_MODELS=frost_classify_test_models -DWORK_DIR=dir
#       -P classify_test.cmake
#
# Runs frost-classify on the models and images make_test_models.cpp writes, whose answers are
# known: each image's top-1 class (which needs the stored normalisation, RGB order and the
# resize), the folder walk (recursive, sorted, images only), the softmax, --top; then that a
# missing or corrupt model, an image that does not decode, a folder without images and bad
# flags each end with exit code 1 (2 for flags) and a message saying what is wrong.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${MAKE_MODELS} ${WORK_DIR} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "frost_classify_test_models: exit code ${rc}\n${err}")
endif()

function(classify expect_rc)
  execute_process(COMMAND ${CLASSIFY} ${ARGN}
    WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  # A crash gives a signal's name here, not a number, and fails this comparison too.
  if(NOT rc STREQUAL expect_rc)
    message(FATAL_ERROR "frost-classify ${ARGN}: exit code ${rc}, expected ${expect_rc}\n"
                        "stdout:\n${out}\nstderr:\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect text pattern what)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: no match for '${pattern}' in\n${text}")
  endif()
endfunction()

# The folder: four images in sorted order, notes.txt skipped, each with its own colour first.
classify(0 rgb.int8 images)
set(ms "\\([0-9]+\\.[0-9]+ ms\\)")
expect("${out}" "images/grey\\.png ${ms}: green [0-9.]+%, " "grey.png (needs the stored mean)")
expect("${out}" "images/nested/blue\\.png ${ms}: blue " "nested/blue.png")
expect("${out}" "images/nested/green\\.PNG ${ms}: green " "nested/green.PNG")
expect("${out}" "images/red\\.png ${ms}: red " "red.png (RGB, not BGR)")
expect("${out}" "4 image\\(s\\)" "the summary's image count")
expect("${out}" "median [0-9]+\\.[0-9]+ ms, mean [0-9]+\\.[0-9]+ ms per image" "the summary's times")
if(out MATCHES "notes\\.txt")
  message(FATAL_ERROR "notes.txt is not an image but was classified:\n${out}")
endif()
string(FIND "${out}" "grey.png" grey_at)
string(FIND "${out}" "nested/blue.png" blue_at)
string(FIND "${out}" "nested/green.PNG" green_at)
string(FIND "${out}" "red.png" red_at)
if(NOT (grey_at LESS blue_at AND blue_at LESS green_at AND green_at LESS red_at))
  message(FATAL_ERROR "the folder's images are not in sorted order:\n${out}")
endif()

# One channel from colour files (stb's grey), normalised: dark.png is only dark after the mean
# is subtracted. Logits +-1.6 give a softmax of 96%; both classes with --top 2, ranked.
classify(0 grey.int8 dark.png bright.png --top 2)
expect("${out}" "dark\\.png ${ms}: dark 9[5-7]\\.[0-9][0-9]%, bright [3-5]\\.[0-9][0-9]%\n"
       "dark.png")
expect("${out}" "bright\\.png ${ms}: bright 9[4-7]\\.[0-9][0-9]%, dark [3-6]\\.[0-9][0-9]%\n"
       "bright.png")
classify(0 rgb.int8 images/red.png --top 1)
expect("${out}" "red\\.png ${ms}: red [0-9.]+%\n" "--top 1 prints one class")

# Bad input: a message naming the problem, exit code 1, no crash.
classify(1 missing.int8 images)
expect("${err}" "frost-classify: .*missing\\.int8" "a missing model")
classify(1 corrupt.int8 images)
expect("${err}" "frost-classify: .*corrupt\\.int8.*checksum mismatch" "a corrupt model")
classify(1 rgb.int8 broken.png)
expect("${err}" "frost-classify: .*broken\\.png.*cannot decode" "an image that does not decode")
classify(1 rgb.int8 no_images)
expect("${err}" "frost-classify: .*no_images.* no image files" "a folder without images")
classify(1 rgb.int8 nowhere.png)
expect("${err}" "frost-classify: .*nowhere\\.png.* does not exist" "a missing image")
classify(1 images/red.png images)
expect("${err}" "frost-classify: .*red\\.png" "an image given as the model")

# Bad flags: exit code 2 and the flag named.
classify(2 rgb.int8 images --top 0)
expect("${err}" "frost-classify: .*--top" "--top 0")
classify(2 rgb.int8 images --top x)
expect("${err}" "frost-classify: --top expects an integer" "--top x")
classify(2 rgb.int8 images --threads)
expect("${err}" "frost-classify: --threads needs a value" "--threads without a value")
classify(2 rgb.int8 images --frobnicate)
expect("${err}" "frost-classify: unknown flag '--frobnicate'" "an unknown flag")
classify(2 rgb.int8)
expect("${err}" "frost-classify: needs a model file and at least one image" "no image")
