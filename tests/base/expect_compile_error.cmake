# cmake -DBUILD_DIR=... -DTARGET=... -DEXPECTED_ERROR=<regex> -P expect_compile_error.cmake
# Passes when building TARGET fails with a message matching EXPECTED_ERROR; fails when the
# target builds, or fails to build for some other reason (a typo, a missing header), so a
# compile-fail test cannot pass by accident.
foreach(var BUILD_DIR TARGET EXPECTED_ERROR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_compile_error.cmake: ${var} is not set")
  endif()
endforeach()
execute_process(
  COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
if(result EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not:\n${output}")
endif()
if(NOT output MATCHES "${EXPECTED_ERROR}")
  message(FATAL_ERROR "${TARGET} failed to build, but not with \"${EXPECTED_ERROR}\":\n${output}")
endif()
message(STATUS "${TARGET} failed to compile as expected (${EXPECTED_ERROR})")
